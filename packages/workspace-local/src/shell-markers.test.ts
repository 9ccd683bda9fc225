import { describe, expect, it } from 'vitest';
import { ShellMarkerParser } from './shell-markers';
import type { ShellMarker } from './shell-markers';

function parse(chunks: readonly string[]) {
  const texts: string[] = [];
  const markers: ShellMarker[] = [];
  const parser = new ShellMarkerParser(
    (text) => texts.push(text),
    (marker) => markers.push(marker),
  );
  for (const chunk of chunks) parser.push(chunk);
  return { text: texts.join(''), markers };
}

describe('ShellMarkerParser', () => {
  const stream = 'out\x1eFERRY:0a1b:2:/tmp/a:b\nc\x1emore\x1eFERRY:ff:-1:/\x1e';

  it('separates output from markers, whatever the working directory holds', () => {
    expect(parse([stream])).toEqual({
      text: 'outmore',
      markers: [
        { nonce: '0a1b', exitCode: 2, workingDir: '/tmp/a:b\nc' },
        { nonce: 'ff', exitCode: -1, workingDir: '/' },
      ],
    });
  });

  it('finds markers split across chunks at any point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)])).toEqual(parse([stream]));
    }
    expect(parse([...stream])).toEqual(parse([stream]));
  });

  it('releases held-back text once it is clearly not a marker', () => {
    const { text, markers } = parse(['abc\x1eFE', 'LLOW']);
    expect(text).toBe('abc\x1eFELLOW');
    expect(markers).toEqual([]);
  });
});
