/**
 * The lines of a text, without their `\n`. A final newline ends the last line rather than
 * starting an empty one, as `cat -n` and `wc -l` see it; an empty text has no lines.
 */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

/**
 * Lines numbered as `cat -n` prints them (OpenHands' format): the number right-aligned in six
 * columns, a tab, the line. `firstLine` is the number of the first one.
 */
export function numberLines(lines: readonly string[], firstLine = 1): string {
  return lines.map((line, index) => `${String(firstLine + index).padStart(6)}\t${line}`).join('\n');
}

/** The 1-based line that the character at `offset` is on. */
export function lineNumberAt(text: string, offset: number): number {
  let line = 1;
  for (
    let index = text.indexOf('\n');
    index !== -1 && index < offset;
    index = text.indexOf('\n', index + 1)
  ) {
    line += 1;
  }
  return line;
}

/** Where `search` occurs in `text`: the offsets of its non-overlapping occurrences, in order. */
export function findOccurrences(text: string, search: string): number[] {
  if (search === '') return [];
  const offsets: number[] = [];
  for (
    let index = text.indexOf(search);
    index !== -1;
    index = text.indexOf(search, index + search.length)
  ) {
    offsets.push(index);
  }
  return offsets;
}

/** The distinct lines (1-based, ascending) on which the occurrences of `search` start. */
export function occurrenceLines(text: string, search: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let scanned = 0;
  for (const offset of findOccurrences(text, search)) {
    for (
      let index = text.indexOf('\n', scanned);
      index !== -1 && index < offset;
      index = text.indexOf('\n', index + 1)
    ) {
      line += 1;
      scanned = index + 1;
    }
    if (lines.at(-1) !== line) lines.push(line);
  }
  return lines;
}
