import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthFailureLimit } from './auth-failure-limit';

/** Decides whether a presented API key is one of the configured ones. */
export interface ApiKeyCheck {
  /** False when no key is configured: then every request is accepted. */
  readonly enabled: boolean;
  /** True when `candidate` is a configured key (always true when none is configured). */
  accepts(candidate: string | undefined): boolean;
  /** Wrong keys counted per client, shared by the HTTP routes and the events socket. */
  readonly failures: AuthFailureLimit;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Builds the check for one key or several. Keys are compared in constant time: both sides are
 * hashed to equal-length digests for `timingSafeEqual`, and every configured key is compared
 * so the time does not tell which one matched.
 */
export function createApiKeyCheck(keys: string | readonly string[] | undefined): ApiKeyCheck {
  const list = (typeof keys === 'string' ? [keys] : (keys ?? [])).filter((key) => key !== '');
  const digests = list.map(digest);
  return {
    enabled: digests.length > 0,
    failures: new AuthFailureLimit(),
    accepts(candidate) {
      if (digests.length === 0) return true;
      if (candidate === undefined || candidate === '') return false;
      const presented = digest(candidate);
      let accepted = false;
      for (const known of digests) accepted = timingSafeEqual(presented, known) || accepted;
      return accepted;
    },
  };
}
