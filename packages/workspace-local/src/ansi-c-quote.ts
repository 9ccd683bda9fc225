/**
 * Quotes `text` as a bash ANSI-C string (`$'...'`) made only of printable ASCII: every other
 * byte of its UTF-8 form, quotes and backslashes become `\xHH`. The result is one line, so a
 * command with newlines, heredocs or unbalanced quotes can be sent to a shell as one unit.
 */
export function ansiCQuote(text: string): string {
  let quoted = "$'";
  for (const byte of new TextEncoder().encode(text)) {
    const printable = byte >= 0x20 && byte <= 0x7e && byte !== 0x27 && byte !== 0x5c;
    quoted += printable ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${quoted}'`;
}
