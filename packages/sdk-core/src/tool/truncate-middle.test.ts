import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { truncateMiddle } from './truncate-middle';

const marker = (removed: number) => `[${removed} cut]`;

/** True when the text has no half of a surrogate pair on its own. */
const wellFormed = (text: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

describe('truncateMiddle', () => {
  it('returns a text within the bound unchanged', () => {
    expect(truncateMiddle('hello', { maxChars: 5, marker })).toEqual({
      text: 'hello',
      removedChars: 0,
    });
  });

  it('keeps the start and the end around a marker that counts what was cut', () => {
    const result = truncateMiddle('0123456789abcdefghij', { maxChars: 6, marker });
    expect(result).toEqual({ text: '012[14 cut]hij', removedChars: 14 });
  });

  it('never splits a character outside the BMP', () => {
    const text = `ab${'😀'.repeat(10)}yz`;
    const result = truncateMiddle(text, { maxChars: 5, marker: () => '|' });
    const [head = '', tail = ''] = result.text.split('|');
    expect(wellFormed(head)).toBe(true);
    expect(wellFormed(tail)).toBe(true);
    expect(head.length + tail.length + result.removedChars).toBe(text.length);
  });

  it('keeps a prefix and a suffix of the text and accounts for every character', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.nat({ max: 100 }), (text, maxChars) => {
        const result = truncateMiddle(text, { maxChars, marker: () => '\u0000' });
        if (result.removedChars === 0) {
          expect(result.text).toBe(text);
          return;
        }
        const [head = '', tail = ''] = result.text.split('\u0000');
        expect(text.startsWith(head)).toBe(true);
        expect(text.endsWith(tail)).toBe(true);
        expect(head.length + tail.length).toBeLessThanOrEqual(maxChars);
        expect(head.length + tail.length + result.removedChars).toBe(text.length);
      }),
    );
  });
});
