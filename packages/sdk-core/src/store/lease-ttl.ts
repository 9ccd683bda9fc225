import { FerryError } from '../errors/ferry-error';

/** Checks a lease TTL: a positive whole number of milliseconds, or absent. */
export function validTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `ttlMs must be a positive integer of milliseconds, got ${String(ttlMs)}.`,
    );
  }
  return ttlMs;
}
