import { describe, expect, it } from 'vitest';
import { FerryError, isFerryErrorNamed } from './ferry-error';

class SampleError extends FerryError {
  constructor(readonly removed: string[]) {
    super('SAMPLE', `removed: ${removed.join(', ')}`);
  }
  protected override details() {
    return { removed: this.removed };
  }
}

describe('FerryError', () => {
  it('names the error after its class and keeps a stable code', () => {
    const error = new SampleError(['terminal']);
    expect(error.name).toBe('SampleError');
    expect(error.code).toBe('SAMPLE');
    expect(error).toBeInstanceOf(Error);
  });

  it('serialises name, code, message and details', () => {
    expect(JSON.parse(JSON.stringify(new SampleError(['a', 'b'])))).toEqual({
      name: 'SampleError',
      code: 'SAMPLE',
      message: 'removed: a, b',
      removed: ['a', 'b'],
    });
  });

  it('is recognised across copies through a global symbol, not instanceof', () => {
    const foreign = Object.assign(new Error('x'), { name: 'SampleError' });
    Object.defineProperty(foreign, Symbol.for('@ferry/sdk-core/FerryError'), { value: true });
    expect(FerryError.isInstance(foreign)).toBe(true);
    expect(isFerryErrorNamed(foreign, 'SampleError')).toBe(true);
    expect(FerryError.isInstance(new Error('plain'))).toBe(false);
    expect(isFerryErrorNamed(new SampleError([]), 'OtherError')).toBe(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('disk full');
    expect(new FerryError('X', 'failed', { cause }).cause).toBe(cause);
  });
});
