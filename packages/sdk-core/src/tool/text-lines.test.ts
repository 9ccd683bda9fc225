import { describe, expect, it } from 'vitest';
import {
  findOccurrences,
  lineNumberAt,
  numberLines,
  occurrenceLines,
  splitLines,
} from './text-lines';

describe('splitLines', () => {
  it.each([
    ['', []],
    ['one', ['one']],
    ['one\n', ['one']],
    ['one\ntwo', ['one', 'two']],
    ['one\n\n', ['one', '']],
    ['\n', ['']],
  ])('splits %j into %j', (text, lines) => {
    expect(splitLines(text)).toEqual(lines);
  });
});

describe('numberLines', () => {
  it('numbers lines as cat -n does: six right-aligned columns and a tab', () => {
    expect(numberLines(['alpha', '', 'gamma'])).toBe('     1\talpha\n     2\t\n     3\tgamma');
  });

  it('starts from the given line', () => {
    expect(numberLines(['x', 'y'], 99)).toBe('    99\tx\n   100\ty');
  });
});

describe('lineNumberAt', () => {
  it('gives the 1-based line of an offset', () => {
    const text = 'a\nbb\nccc';
    expect(lineNumberAt(text, 0)).toBe(1);
    expect(lineNumberAt(text, 1)).toBe(1);
    expect(lineNumberAt(text, 2)).toBe(2);
    expect(lineNumberAt(text, text.indexOf('ccc'))).toBe(3);
  });
});

describe('findOccurrences and occurrenceLines', () => {
  it('finds non-overlapping occurrences', () => {
    expect(findOccurrences('aaaa', 'aa')).toEqual([0, 2]);
    expect(findOccurrences('abc', 'x')).toEqual([]);
    expect(findOccurrences('abc', '')).toEqual([]);
  });

  it('lists the line of every match once, in order', () => {
    const text = 'x = 1\ny = 2\nx = x + 1\nz = 3\nprint(x)\n';
    expect(occurrenceLines(text, 'x')).toEqual([1, 3, 5]);
    expect(occurrenceLines(text, 'y = 2\nx')).toEqual([2]);
    expect(occurrenceLines(text, 'nope')).toEqual([]);
  });
});
