/**
 * The root README sends readers into the package READMEs; every such link, and the section it
 * names, must exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/published-packages';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] ?? '')));
}

describe('root README links', () => {
  const readme = join(repositoryRoot, 'README.md');
  const links = [...readFileSync(readme, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z]+:/i.test(target));

  it('has links into the repository, including the server viewer section', () => {
    expect(links).toContain('packages/server/README.md#viewer-ui');
  });

  it.each(links)('%s leads to a file and a section that exist', (target) => {
    const [path = '', anchor] = target.split('#');
    const file = join(dirname(readme), path);
    expect(existsSync(file), `${file} is missing`).toBe(true);
    if (anchor !== undefined) expect([...anchors(file)]).toContain(anchor);
  });
});
