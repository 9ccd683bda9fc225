import { describe, expect, it } from 'vitest';
import { AuthFailureLimit, clientOf } from './auth-failure-limit';

function limitWithClock(options: { maxFailures: number; windowMs: number; maxClients?: number }) {
  const clock = { now: 1_000_000 };
  const limit = new AuthFailureLimit({ ...options, now: () => clock.now });
  return { limit, clock };
}

describe('AuthFailureLimit', () => {
  it('refuses a client after maxFailures wrong keys until its window ends', () => {
    const { limit, clock } = limitWithClock({ maxFailures: 3, windowMs: 60_000 });
    for (let failure = 0; failure < 3; failure += 1) {
      expect(limit.retryAfter('10.0.0.1')).toBeUndefined();
      limit.recordFailure('10.0.0.1');
    }
    expect(limit.retryAfter('10.0.0.1')).toBe(60);
    clock.now += 59_500;
    expect(limit.retryAfter('10.0.0.1')).toBe(1);
    expect(limit.retryAfter('10.0.0.2')).toBeUndefined();
    clock.now += 500;
    expect(limit.retryAfter('10.0.0.1')).toBeUndefined();
  });

  it('counts an IPv6 /64 as one client, and an IPv4-mapped address as its IPv4 one', () => {
    expect(clientOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientOf('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
    expect(clientOf('::ffff:127.0.0.2')).toBe('127.0.0.2');
    const { limit } = limitWithClock({ maxFailures: 2, windowMs: 60_000 });
    limit.recordFailure('2001:db8:1:2::10');
    limit.recordFailure('2001:db8:1:2::11');
    expect(limit.retryAfter('2001:db8:1:2::12')).toBe(60);
    expect(limit.retryAfter('2001:db8:1:3::12')).toBeUndefined();
  });

  it('remembers at most maxClients, forgetting the oldest first', () => {
    const { limit, clock } = limitWithClock({ maxFailures: 1, windowMs: 60_000, maxClients: 2 });
    limit.recordFailure('10.0.0.1');
    clock.now += 1;
    limit.recordFailure('10.0.0.2');
    clock.now += 1;
    limit.recordFailure('10.0.0.3');
    expect(limit.retryAfter('10.0.0.1')).toBeUndefined();
    expect(limit.retryAfter('10.0.0.2')).toBe(60);
    expect(limit.retryAfter('10.0.0.3')).toBe(60);
  });
});
