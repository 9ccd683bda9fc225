/**
 * The TypeScript and JavaScript examples of the package READMEs. A fenced block's info string
 * says what it is: `ts runnable` is a complete program (type-checked and run by the consumer
 * test), `ts snippet` an excerpt that needs more around it (an API key, a server, a test runner).
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { PublishedPackage } from './published-packages';

const CODE_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'mts']);
export const EXAMPLE_KINDS = ['runnable', 'snippet'] as const;

export interface ReadmeExample {
  /** e.g. `sdk-core-2`: the package folder and the example's number among its code blocks. */
  name: string;
  /** The README it comes from, relative to the repository, and its line. */
  source: string;
  /** `runnable`, `snippet`, or what the block says instead (a mistake the test reports). */
  kind: string;
  /** The block's language: `ts`, `js`, ... */
  language: string;
  code: string;
}

/** Every TypeScript/JavaScript code block of a package's README.md. */
export function readmeExamples(pkg: PublishedPackage): ReadmeExample[] {
  const folder = basename(pkg.dir);
  const text = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
  const examples: ReadmeExample[] = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of text.matchAll(fence)) {
    const [language = '', kind = ''] = (match[1] ?? '').trim().split(/\s+/);
    if (!CODE_LANGUAGES.has(language)) continue;
    const line = text.slice(0, match.index).split('\n').length;
    examples.push({
      name: `${folder}-${examples.length + 1}`,
      source: `packages/${folder}/README.md:${line}`,
      kind,
      language,
      code: match[2] ?? '',
    });
  }
  return examples;
}
