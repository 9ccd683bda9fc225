#!/usr/bin/env node
import '../dist/console-cli.js';
