import { describe, expect, it } from 'vitest';
import { FerryError } from '../errors/index';
import { joinStorePath, normalizeStorePath, parentStorePath } from './store-path';

describe('store paths', () => {
  it('normalises separators, "." and inner ".."', () => {
    expect(normalizeStorePath('events//segment-000001.jsonl')).toBe('events/segment-000001.jsonl');
    expect(normalizeStorePath('./a/b/../c/')).toBe('a/c');
    expect(normalizeStorePath('')).toBe('');
    expect(normalizeStorePath('.')).toBe('');
  });

  it.each(['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\b', 'a\0b'])(
    'refuses %j with INVALID_STORE_PATH',
    (path) => {
      let thrown: unknown;
      try {
        normalizeStorePath(path);
      } catch (error) {
        thrown = error;
      }
      expect(FerryError.isInstance(thrown)).toBe(true);
      expect((thrown as FerryError).code).toBe('INVALID_STORE_PATH');
    },
  );

  it('joins and splits normalised paths', () => {
    expect(joinStorePath('', 'a')).toBe('a');
    expect(joinStorePath('a', '')).toBe('a');
    expect(joinStorePath('a', 'b/c')).toBe('a/b/c');
    expect(parentStorePath('a/b/c')).toBe('a/b');
    expect(parentStorePath('a')).toBe('');
  });
});
