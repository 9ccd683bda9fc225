import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp folder, removed by `remove()` or `await using`. */
export interface TemporaryDirectory extends AsyncDisposable {
  readonly path: string;
  remove(): Promise<void>;
}

/** Creates an empty temporary directory for a test; remove it when done. */
export async function createTemporaryDirectory(
  options: { prefix?: string } = {},
): Promise<TemporaryDirectory> {
  const path = await mkdtemp(join(tmpdir(), options.prefix ?? 'ferry-test-'));
  const remove = () => rm(path, { recursive: true, force: true });
  return { path, remove, [Symbol.asyncDispose]: remove };
}
