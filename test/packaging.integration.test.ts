/**
 * Consumers install our packages one by one from npm. This packs every publishable package the
 * way `changeset publish` would, installs the tarballs with plain npm into an empty project and
 * loads each one from ESM and from CommonJS `require()`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const packageNames = [
  '@ferry/sdk-core',
  '@ferry/workspace-local',
  '@ferry/workspace-remote',
  '@ferry/server',
];
const packageDirs = ['sdk-core', 'workspace-local', 'workspace-remote', 'server'];

function pnpm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  if (execPath?.includes('pnpm')) {
    return execFileSync(process.execPath, [execPath, ...args], { cwd, encoding: 'utf8' });
  }
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    packageManager: string;
  };
  return execFileSync('npx', ['-y', packageManager, ...args], { cwd, encoding: 'utf8' });
}

describe('published packages', () => {
  let consumer: string;
  let tarballs: string;

  beforeAll(() => {
    tarballs = mkdtempSync(join(tmpdir(), 'ferry-pack-'));
    consumer = mkdtempSync(join(tmpdir(), 'ferry-consumer-'));
    for (const dir of packageDirs) {
      pnpm(['pack', '--pack-destination', tarballs], join(root, 'packages', dir));
    }
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true }),
    );
    const files = readdirSync(tarballs).map((file) => join(tarballs, file));
    // vitest is the optional peer that @ferry/sdk-core/testing's conformance suite needs.
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', 'vitest@4', ...files],
      {
        cwd: consumer,
        encoding: 'utf8',
      },
    );
  });

  afterAll(() => {
    rmSync(tarballs, { recursive: true, force: true });
    rmSync(consumer, { recursive: true, force: true });
  });

  it('installs with real versions instead of workspace: ranges', () => {
    for (const name of packageNames) {
      const manifest = readFileSync(join(consumer, 'node_modules', name, 'package.json'), 'utf8');
      expect(manifest).not.toContain('workspace:');
      expect(manifest).not.toContain('catalog:');
    }
  });

  it('loads every package from a plain Node ESM script', () => {
    const script = packageNames
      .map(
        (name, index) =>
          `import * as m${index} from '${name}'; console.log('${name}', Object.keys(m${index}).length);`,
      )
      .join('\n');
    writeFileSync(
      join(consumer, 'esm.mjs'),
      `${script}\nimport * as t from '@ferry/sdk-core/testing'; console.log('testing', typeof t.createTemporaryDirectory);\n`,
    );
    const out = execFileSync(process.execPath, ['esm.mjs'], { cwd: consumer, encoding: 'utf8' });
    for (const name of packageNames) expect(out).toMatch(new RegExp(`${name} [1-9]`));
    expect(out).toContain('testing function');
  });

  it('loads every package from CommonJS require()', () => {
    const script = packageNames
      .map((name) => `console.log('${name}', Object.keys(require('${name}')).length);`)
      .join('\n');
    writeFileSync(join(consumer, 'cjs.cjs'), script);
    const out = execFileSync(process.execPath, ['cjs.cjs'], { cwd: consumer, encoding: 'utf8' });
    for (const name of packageNames) expect(out).toMatch(new RegExp(`${name} [1-9]`));
  });

  it('installs the ferry-server command', () => {
    const out = execFileSync(join(consumer, 'node_modules', '.bin', 'ferry-server'), ['--help'], {
      encoding: 'utf8',
    });
    expect(out).toContain('--data-dir');
  });

  it('installs the ferry command', () => {
    const out = execFileSync(
      join(consumer, 'node_modules', '.bin', 'ferry'),
      ['openhands', 'import', '--help'],
      { encoding: 'utf8' },
    );
    expect(out).toContain('--persistence-dir');
  });
});
