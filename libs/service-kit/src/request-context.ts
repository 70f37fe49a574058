// What a request carries into the calls it makes: the caller's deadline and its W3C trace context.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Milliseconds the caller still waits; every hop sends what is left of its own deadline. */
export const DEADLINE_HEADER = 'x-meshcart-deadline-ms';
/** W3C Trace Context: `00-<trace id>-<parent span id>-<flags>`. */
export const TRACEPARENT_HEADER = 'traceparent';

interface RequestContext {
  deadline?: number;
  traceparent?: string;
}

const store = new AsyncLocalStorage<RequestContext>();

export function parseDeadlineMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a valid traceparent (not all zeros), else undefined. */
export function traceIdOf(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return m[1];
}

/** Runs `fn` with this request's deadline (`deadlineMs` from now) and trace context visible to its calls. */
export function withRequestContext<T>(ctx: { deadlineMs?: number; traceparent?: string }, fn: () => T): T {
  return store.run(
    {
      ...(ctx.deadlineMs !== undefined ? { deadline: Date.now() + ctx.deadlineMs } : {}),
      ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
    },
    fn,
  );
}

/** Kept for callers that only set a deadline. */
export function withDeadline<T>(ms: number, fn: () => T): T {
  return withRequestContext({ deadlineMs: ms }, fn);
}

/** Milliseconds left of the current request's deadline, if it has one. */
export function remainingDeadlineMs(): number | undefined {
  const d = store.getStore()?.deadline;
  return d === undefined ? undefined : d - Date.now();
}

export function currentTraceparent(): string | undefined {
  return store.getStore()?.traceparent;
}
