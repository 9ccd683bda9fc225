import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ansiCQuote } from './ansi-c-quote';

describe('ansiCQuote', () => {
  it('quotes any text as one printable line that bash reads back unchanged', () => {
    const text = `it's "quoted" \\ $HOME \`tick\` !bang\n\ttab ünï 🚀 \x01\x7f`;
    const quoted = ansiCQuote(text);
    expect(quoted).toMatch(/^\$'[\x20-\x7e]*'$/);
    const echoed = execFileSync('bash', ['-c', `printf '%s' ${quoted}`], { encoding: 'utf8' });
    expect(echoed).toBe(text);
  });
});
