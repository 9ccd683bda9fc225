const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The file's content as text, or `undefined` when it looks binary: it holds a NUL byte or is
 * not valid UTF-8. A byte-order mark is kept, so writing the text back preserves it.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
