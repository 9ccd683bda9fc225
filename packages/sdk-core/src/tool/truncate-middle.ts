/** The outcome of {@link truncateMiddle}. */
export interface MiddleTruncation {
  /** The text, or its start and end around the marker. */
  text: string;
  /** Characters (UTF-16 code units) cut from the middle; `0` when the text was short enough. */
  removedChars: number;
}

/** Options of {@link truncateMiddle}. */
export interface TruncateMiddleOptions {
  /** Characters of the text to keep: half from the start, half from the end. */
  maxChars: number;
  /** The marker put in place of the cut, given the number of characters cut. */
  marker: (removedChars: number) => string;
}

/**
 * Shortens `text` to its first and last `maxChars / 2` characters with a marker in between.
 * The start and the end of an output are what matter (the command's first lines, then its
 * result or error), so the middle goes. A character outside the BMP is never split in two.
 */
export function truncateMiddle(text: string, options: TruncateMiddleOptions): MiddleTruncation {
  const maxChars = Math.max(0, Math.floor(options.maxChars));
  if (text.length <= maxChars) return { text, removedChars: 0 };
  let headEnd = Math.ceil(maxChars / 2);
  let tailStart = text.length - (maxChars - headEnd);
  if (headEnd > 0 && isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd -= 1;
  if (tailStart < text.length && isLowSurrogate(text.charCodeAt(tailStart))) tailStart += 1;
  const removedChars = tailStart - headEnd;
  return {
    text: text.slice(0, headEnd) + options.marker(removedChars) + text.slice(tailStart),
    removedChars,
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
