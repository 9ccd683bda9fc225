import { describe, expect, it } from 'vitest';
import { decodeText } from './decode-text';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('decodeText', () => {
  it('decodes UTF-8 text, unicode included', () => {
    expect(decodeText(new TextEncoder().encode('héllo wörld 😀\n'))).toBe('héllo wörld 😀\n');
  });

  it('keeps a byte-order mark so that writing the text back preserves it', () => {
    expect(decodeText(bytes(0xef, 0xbb, 0xbf, 0x61))).toBe('\ufeffa');
  });

  it('treats a NUL byte as binary', () => {
    expect(decodeText(bytes(0x61, 0x00, 0x62))).toBeUndefined();
  });

  it('treats invalid UTF-8 as binary', () => {
    expect(decodeText(bytes(0x89, 0x50, 0x4e, 0x47))).toBeUndefined();
    expect(decodeText(bytes(0x61, 0xc3))).toBeUndefined();
  });
});
