// Waiting for a condition in a test: poll, and on timeout name the last value (or error) seen.

/** Polls `probe` until `accept` holds; a probe that throws is tried again. */
export async function eventually<T>(probe: () => Promise<T> | T, accept: (v: T) => boolean, timeoutMs = 5_000, what = 'condition', intervalMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; last value ${JSON.stringify(last)}${lastError ? `, last error ${(lastError as Error).message}` : ''}`);
}
