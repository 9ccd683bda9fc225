#!/usr/bin/env node
// The system packages Ferry's tests use for real, checked before `pnpm test` and
// `pnpm test:reliability` (and by .ci/run). What is missing is installed with apt-get when this
// runs as root (or with sudo that needs no password) on Debian or Ubuntu; anywhere else, or with
// FERRY_NO_APT=1, it stops and says what to install. A test never skips for want of them.
//
//   node scripts/system-packages.mjs           check, and install what is missing
//   node scripts/system-packages.mjs --check   check only: list what is missing, exit 1 if any
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import process from 'node:process';

/** Each package: the Debian package, why the tests need it, and how to tell it is there. */
const PACKAGES = [
  {
    name: 'chromium',
    why: "the console's browser tests (playwright-core drives Debian's Chromium)",
    present: () => existsSync('/usr/bin/chromium'),
  },
  {
    name: 'bubblewrap',
    why: 'sandboxed workspaces (LocalWorkspace({ sandbox }), ferry-server --sandbox)',
    present: () => existsSync('/usr/bin/bwrap') || onPath('bwrap'),
  },
  {
    name: 'python3',
    why: "the OpenHands checks read the reference models with python3's own parser",
    present: () => onPath('python3'),
  },
  {
    name: 'postgresql',
    why: '@ferry/store-postgres tests start a throwaway PostgreSQL where none answers on 5432',
    present: () => postgresBinaries() || onPath('pg_config'),
  },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function postgresBinaries() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return false;
  return readdirSync(root).some((version) => existsSync(`${root}/${version}/bin/initdb`));
}

const missing = process.platform === 'linux' ? PACKAGES.filter((pkg) => !pkg.present()) : [];
if (missing.length === 0) process.exit(0);

const list = missing.map((pkg) => `  ${pkg.name.padEnd(11)} ${pkg.why}`).join('\n');
const names = missing.map((pkg) => pkg.name).join(' ');

/** How apt-get can run here without asking: as root, or with passwordless sudo. */
function aptCommand() {
  if (process.env.FERRY_NO_APT === '1' || !onPath('apt-get')) return undefined;
  if (process.getuid?.() === 0) return [];
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  return sudo.status === 0 ? ['sudo', '-n'] : undefined;
}

const prefix = process.argv.includes('--check') ? undefined : aptCommand();
if (prefix === undefined) {
  process.stderr.write(
    `The tests need system packages that are missing:\n${list}\n\n` +
      `Install them (Debian/Ubuntu: \`sudo apt-get install ${names}\`), then run the tests again.\n`,
  );
  process.exit(1);
}

process.stdout.write(
  `Installing system packages the tests use (apt-get; a minute or two):\n${list}\n`,
);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
function apt(...args) {
  const [command, ...rest] = [...prefix, 'apt-get', ...args];
  const run = spawnSync(command, rest, { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (run.status !== 0) {
    process.stderr.write(
      `\`apt-get ${args.join(' ')}\` failed (exit ${run.status ?? run.signal}). ` +
        `Install the packages yourself: sudo apt-get install ${names}\n`,
    );
    process.exit(1);
  }
}
apt('update', '-qq');
apt('install', '-y', '-qq', ...missing.map((pkg) => pkg.name));
process.stdout.write(`Installed ${names}.\n\n`);
