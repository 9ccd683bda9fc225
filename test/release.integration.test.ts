/**
 * A dry run of the release, as a maintainer would cut it: `changeset version` on a scratch copy
 * of the repository, then the pre-publish pin and `pnpm pack`. It fails when the versions differ
 * from what the pending changesets ask for under the policy in the root README ("Versions and
 * releases"): the public packages form one fixed group, so they all move to the same version,
 * the highest bump any pending changeset asks for, and never to a major nobody asked for. The
 * packed tarballs must name each other's new versions.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpm, repositoryRoot as root } from './support/published-packages';

const bumps = ['patch', 'minor', 'major'] as const;
type Bump = (typeof bumps)[number];

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

function packageDirs(base: string): string[] {
  return readdirSync(join(base, 'packages'))
    .map((dir) => join(base, 'packages', dir))
    .filter((dir) => existsSync(join(dir, 'package.json')));
}

/** The bump each pending changeset asks for, per package name. */
function pendingBumps(base: string): Map<string, Bump> {
  const wanted = new Map<string, Bump>();
  const folder = join(base, '.changeset');
  for (const file of readdirSync(folder)) {
    if (!file.endsWith('.md') || file === 'README.md') continue;
    const text = readFileSync(join(folder, file), 'utf8');
    const frontMatter = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
    for (const line of frontMatter.split('\n')) {
      const match = /^\s*['"]?(@ferry\/[\w-]+)['"]?\s*:\s*(patch|minor|major)\s*$/.exec(line);
      if (!match) continue;
      const [, name, bump] = match as unknown as [string, string, Bump];
      const before = wanted.get(name);
      if (!before || bumps.indexOf(bump) > bumps.indexOf(before)) wanted.set(name, bump);
    }
  }
  return wanted;
}

function increment(version: string, bump: Bump): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  if (bump === 'major') return `${major + 1}.0.0`;
  if (bump === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

describe('release dry run', () => {
  let scratch: string;
  let tarballs: string;
  const before = new Map<string, Manifest>();
  let expected: string | undefined;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ferry-release-'));
    tarballs = mkdtempSync(join(tmpdir(), 'ferry-release-packs-'));
    const skipped = new Set(['node_modules', '.git', '.turbo', 'dist', 'coverage']);
    cpSync(root, scratch, {
      recursive: true,
      filter: (source) => !skipped.has(basename(source)) || relative(root, source) === '',
    });
    for (const dir of packageDirs(root)) {
      const manifest = readManifest(dir);
      before.set(manifest.name, manifest);
    }
    const publicNames = [...before.values()].filter((m) => !m.private).map((m) => m.name);
    const wanted = pendingBumps(root);
    const highest = publicNames
      .map((name) => wanted.get(name))
      .filter((bump): bump is Bump => bump !== undefined)
      .sort((a, b) => bumps.indexOf(b) - bumps.indexOf(a))[0];
    const current = before.get('@ferry/sdk-core')?.version ?? '0.0.0';
    expected = highest ? increment(current, highest) : undefined;

    execFileSync(process.execPath, [join(root, 'node_modules/@changesets/cli/bin.js'), 'version'], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    execFileSync(process.execPath, [join(root, 'scripts/pin-peer-ranges.mjs'), scratch]);
    // pnpm resolves `workspace:` ranges from the installed workspace; the store is warm.
    pnpm(
      ['install', '--offline', '--ignore-scripts', '--config.confirmModulesPurge=false'],
      scratch,
    );
    for (const dir of packageDirs(scratch)) {
      if (readManifest(dir).private) continue;
      pnpm(['pack', '--pack-destination', tarballs], dir);
    }
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(tarballs, { recursive: true, force: true });
  });

  it('starts from one version shared by every public package (one fixed group)', () => {
    const versions = new Set([...before.values()].filter((m) => !m.private).map((m) => m.version));
    expect([...versions]).toHaveLength(1);
  });

  it('moves every public package to the version the pending changesets ask for', () => {
    for (const dir of packageDirs(scratch)) {
      const after = readManifest(dir);
      const old = before.get(after.name);
      if (!old) throw new Error(`${after.name} appeared during the dry run`);
      if (old.private) {
        expect(after.version, `${after.name} is private and never versioned`).toBe(old.version);
        continue;
      }
      expect(after.version, `${after.name}: ${old.version} -> ${after.version}`).toBe(
        expected ?? old.version,
      );
      if (expected !== old.version) {
        expect(readFileSync(join(dir, 'CHANGELOG.md'), 'utf8')).toContain(`## ${expected}`);
      }
    }
  });

  it('packs tarballs that depend on each other at their new versions', () => {
    const packed = readdirSync(tarballs).filter((file) => file.endsWith('.tgz'));
    expect(packed.length).toBe([...before.values()].filter((m) => !m.private).length);
    for (const file of packed) {
      const manifest = JSON.parse(
        execFileSync('tar', ['-xzOf', join(tarballs, file), 'package/package.json'], {
          encoding: 'utf8',
        }),
      ) as Manifest;
      expect(manifest.version).toBe(expected ?? before.get(manifest.name)?.version);
      const internal = { ...manifest.dependencies, ...manifest.peerDependencies };
      for (const [name, range] of Object.entries(internal)) {
        if (!name.startsWith('@ferry/')) continue;
        expect(range, `${manifest.name} -> ${name}`).toBe(`^${manifest.version}`);
      }
    }
  });
});
