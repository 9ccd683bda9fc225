/**
 * Consumers install our packages one by one from npm. This packs every publishable package the
 * way `changeset publish` would, installs the tarballs with plain npm into an empty project and
 * loads each one from ESM and from CommonJS `require()`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPublishedPackages, publishedPackages } from './support/published-packages';

const packageNames = publishedPackages().map(({ name }) => name);

describe('published packages', () => {
  let consumer: string;
  let tarballs: string;

  beforeAll(() => {
    tarballs = mkdtempSync(join(tmpdir(), 'ferry-pack-'));
    consumer = mkdtempSync(join(tmpdir(), 'ferry-consumer-'));
    const files = packPublishedPackages(tarballs);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true }),
    );
    // vitest is the optional peer that @ferry/sdk-core/testing/conformance needs.
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
      `${script}\nimport * as t from '@ferry/sdk-core/testing'; console.log('testing', typeof t.createTemporaryDirectory);\n` +
        `import * as c from '@ferry/sdk-core/testing/conformance'; console.log('conformance', typeof c.describeWorkspaceConformance);\n`,
    );
    const out = execFileSync(process.execPath, ['esm.mjs'], { cwd: consumer, encoding: 'utf8' });
    for (const name of packageNames) expect(out).toMatch(new RegExp(`${name} [1-9]`));
    expect(out).toContain('testing function');
    expect(out).toContain('conformance function');
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

  it('installs the ferry-console command', () => {
    const out = execFileSync(join(consumer, 'node_modules', '.bin', 'ferry-console'), ['--help'], {
      encoding: 'utf8',
    });
    expect(out).toContain('read-only');
  });

  it('installs the ferry command', () => {
    const out = execFileSync(
      join(consumer, 'node_modules', '.bin', 'ferry'),
      ['openhands', 'import', '--help'],
      { encoding: 'utf8' },
    );
    expect(out).toContain('--persistence-dir');
  });

  it('ships every image its README shows', () => {
    for (const name of packageNames) {
      const installed = join(consumer, 'node_modules', name);
      const readme = readFileSync(join(installed, 'README.md'), 'utf8');
      const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)]
        .map((match) => match[1] ?? '')
        .filter((target) => !/^[a-z]+:/i.test(target));
      for (const image of images) {
        expect(existsSync(join(installed, image)), `${name}: ${image}`).toBe(true);
      }
    }
  });
});
