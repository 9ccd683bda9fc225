/**
 * The packages we publish, found from the repository rather than listed by hand (every
 * `packages/*` that is not private), packed as `changeset publish` would pack them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repositoryRoot = resolve(import.meta.dirname, '..', '..');

export interface PublishedPackage {
  /** e.g. `@ferry/sdk-core`. */
  name: string;
  /** Its folder in the repository. */
  dir: string;
}

/** Every non-private package under `packages/`, in folder order. */
export function publishedPackages(): PublishedPackage[] {
  const packagesDir = join(repositoryRoot, 'packages');
  return readdirSync(packagesDir)
    .sort()
    .map((folder) => join(packagesDir, folder))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        private?: boolean;
      },
    }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir }));
}

/** Runs the repository's pnpm (the one running the tests, else the `packageManager` one). */
export function pnpm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  if (execPath?.includes('pnpm')) {
    return execFileSync(process.execPath, [execPath, ...args], { cwd, encoding: 'utf8' });
  }
  const { packageManager } = JSON.parse(
    readFileSync(join(repositoryRoot, 'package.json'), 'utf8'),
  ) as { packageManager: string };
  return execFileSync('npx', ['-y', packageManager, ...args], { cwd, encoding: 'utf8' });
}

/** Packs every published package into `destination`; returns the tarballs' paths. */
export function packPublishedPackages(destination: string): string[] {
  for (const { dir } of publishedPackages()) pnpm(['pack', '--pack-destination', destination], dir);
  return readdirSync(destination)
    .filter((file) => file.endsWith('.tgz'))
    .map((file) => join(destination, file));
}
