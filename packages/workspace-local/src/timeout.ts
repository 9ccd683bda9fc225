/** The largest delay `setTimeout` honours; longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Converts a timeout in seconds to milliseconds for `setTimeout`; `undefined` means no limit
 * (absent, `Infinity`, or too long to matter). Throws `RangeError` for zero, negative or NaN.
 */
export function timeoutMilliseconds(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  if (Number.isNaN(seconds) || seconds <= 0) {
    throw new RangeError(`A timeout must be a positive number of seconds, got ${seconds}.`);
  }
  const milliseconds = seconds * 1000;
  return milliseconds > MAX_TIMER_MS ? undefined : milliseconds;
}
