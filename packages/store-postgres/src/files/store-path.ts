import { parentStorePath } from '@ferry/sdk-core';

/** The folders above a normalised store path, nearest first, without the root. */
export function ancestorsOf(path: string): string[] {
  const folders: string[] = [];
  for (let folder = parentStorePath(path); folder !== ''; folder = parentStorePath(folder)) {
    folders.push(folder);
  }
  return folders;
}
