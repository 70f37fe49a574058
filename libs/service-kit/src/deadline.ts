// The caller's deadline, carried through a service: read from the incoming request, passed on to outgoing calls.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Milliseconds the caller still waits; every hop sends what is left of its own deadline. */
export const DEADLINE_HEADER = 'x-meshcart-deadline-ms';

const store = new AsyncLocalStorage<{ deadline: number }>();

export function parseDeadlineMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Runs `fn` with a deadline `ms` from now visible to every mesh call made inside it. */
export function withDeadline<T>(ms: number, fn: () => T): T {
  return store.run({ deadline: Date.now() + ms }, fn);
}

/** Milliseconds left of the current request's deadline, if it has one. */
export function remainingDeadlineMs(): number | undefined {
  const d = store.getStore()?.deadline;
  return d === undefined ? undefined : d - Date.now();
}
