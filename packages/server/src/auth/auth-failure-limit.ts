import { isIPv6 } from 'node:net';

/** Options of {@link AuthFailureLimit}. */
export interface AuthFailureLimitOptions {
  /** Wrong keys one client may present per window before it is refused outright. */
  maxFailures?: number;
  /** Length of a client's window, from its first wrong key, in milliseconds. */
  windowMs?: number;
  /** Clients remembered at once; the oldest are forgotten first. */
  maxClients?: number;
  /** The clock, in milliseconds (tests pass their own). */
  now?: () => number;
}

interface Window {
  start: number;
  failures: number;
}

/** Default: 30 wrong keys per client per minute. */
export const DEFAULT_MAX_AUTH_FAILURES = 30;
export const DEFAULT_AUTH_FAILURE_WINDOW_MS = 60_000;
const DEFAULT_MAX_CLIENTS = 10_000;

/**
 * The part of an address that names one client: the address itself for IPv4, the /64 prefix
 * for IPv6 (one host usually holds a whole /64, so single addresses would be free to rotate).
 */
export function clientOf(address: string): string {
  const ipv4Mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (ipv4Mapped?.[1] !== undefined) return ipv4Mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = Math.max(0, 8 - headGroups.length - tailGroups.length);
  const groups = [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Counts wrong API keys per client (its address) and refuses a client that presented too many
 * in its window, whatever it presents next, until the window ends: guessing then gains nothing,
 * and other clients (the right key from elsewhere) are not affected. Memory is bounded by
 * `maxClients`.
 */
export class AuthFailureLimit {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: AuthFailureLimitOptions = {}) {
    this.#maxFailures = options.maxFailures ?? DEFAULT_MAX_AUTH_FAILURES;
    this.#windowMs = options.windowMs ?? DEFAULT_AUTH_FAILURE_WINDOW_MS;
    this.#maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds until the client may try again, or `undefined` when it is not refused now. */
  retryAfter(address: string): number | undefined {
    const window = this.#current(clientOf(address));
    if (window === undefined || window.failures < this.#maxFailures) return undefined;
    return Math.max(1, Math.ceil((window.start + this.#windowMs - this.#now()) / 1000));
  }

  /** Counts a wrong key presented by the client. */
  recordFailure(address: string): void {
    const client = clientOf(address);
    const window = this.#current(client);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= this.#maxClients) this.#forgetOldest();
    this.#windows.set(client, { start: this.#now(), failures: 1 });
  }

  #current(client: string): Window | undefined {
    const window = this.#windows.get(client);
    if (window === undefined) return undefined;
    if (this.#now() - window.start < this.#windowMs) return window;
    this.#windows.delete(client);
    return undefined;
  }

  /** Drops ended windows, or (when none has ended) the oldest one: the map never grows past the bound. */
  #forgetOldest(): void {
    const now = this.#now();
    for (const [client, window] of this.#windows) {
      if (now - window.start >= this.#windowMs) this.#windows.delete(client);
    }
    if (this.#windows.size < this.#maxClients) return;
    const oldest = this.#windows.keys().next();
    if (oldest.done !== true) this.#windows.delete(oldest.value);
  }
}
