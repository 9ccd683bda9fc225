#!/usr/bin/env node
/**
 * Run just before publishing (`pnpm release` does). While below 1.0 the public packages declare
 * each other as `workspace:^0` peers, so that `changeset version` never gives an adapter an
 * accidental major when sdk-core takes a 0.x minor (see "Versions and releases" in the root
 * README). Publishing them as `^0` would let an adapter accept an older, incompatible 0.x core,
 * so this turns every internal `workspace:^0` into `workspace:^`, which pnpm publishes as
 * `^<the version being released>`. It changes package.json files in place: run it on the release
 * checkout only, never commit what it writes.
 *
 * Usage: node scripts/pin-peer-ranges.mjs [repository root]
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const fields = ['dependencies', 'peerDependencies', 'optionalDependencies'];
let pinned = 0;
for (const dir of readdirSync(join(root, 'packages'))) {
  const file = join(root, 'packages', dir, 'package.json');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue;
  }
  const manifest = JSON.parse(text);
  if (manifest.private) continue;
  let changed = false;
  for (const field of fields) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (name.startsWith('@ferry/') && range === 'workspace:^0') {
        manifest[field][name] = 'workspace:^';
        changed = true;
        pinned += 1;
      }
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}
console.log(`pin-peer-ranges: ${pinned} internal range(s) now follow the released versions`);
