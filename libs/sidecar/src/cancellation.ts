// A request's cancellation: cancelled when its caller goes away or a deadline passes, and told to whoever does its work.

type Listener = (reason: Error) => void;

/**
 * Why not an AbortController per request, per deadline and per try: each one builds an AbortSignal
 * (an EventTarget, with its own listener bookkeeping) and a listener on its parent, and undici adds
 * another listener to the last one. Measured, those were the largest share of the data plane's own
 * CPU per request. This is a plain object with a short list of callbacks; undici is told through the
 * abort function its dispatch hands over (see tiers/endpoint.ts), so no AbortSignal is made at all.
 */
export class Cancellation {
  /** Set once cancelled: why. */
  reason: Error | undefined = undefined;
  private listeners: Listener[] | undefined = undefined;

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  cancel(reason: Error): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l(reason);
  }

  /** Called once, when cancelled (not at all if that never happens). */
  onCancel(listener: Listener): void {
    if (this.reason !== undefined) return;
    (this.listeners ??= []).push(listener);
  }

  off(listener: Listener): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i !== -1) this.listeners!.splice(i, 1);
  }
}

/**
 * A cancellation for one bounded piece of work: cancelled when its parent is or when its time is up,
 * and lets go of both once the work is done. The timer is cleared and the parent listener removed as
 * soon as the work ends: at 1000 req/s with a 2 s per-try timeout, timers left to fire would be
 * thousands alive at once (which is what `AbortSignal.timeout` did on Node 20).
 */
export class BoundedCancellation extends Cancellation {
  private readonly timer: NodeJS.Timeout;
  /** True when cancelled because its own time ran out (not its parent's). */
  timedOut = false;

  constructor(
    private readonly parent: Cancellation | undefined,
    ms: number,
    /** Made only when the time does run out. */
    timeoutReason: () => Error,
  ) {
    super();
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.cancel(timeoutReason());
      this.release();
    }, ms);
    if (parent?.reason !== undefined) this.onParentCancel(parent.reason);
    else parent?.onCancel(this.onParentCancel);
  }

  /** The work is done (or failed): stop the timer and stop listening to the parent. Safe to call twice. */
  readonly release = (): void => {
    clearTimeout(this.timer);
    this.parent?.off(this.onParentCancel);
  };

  private readonly onParentCancel = (reason: Error): void => {
    this.cancel(reason);
    this.release();
  };
}

/** Waits `ms`, or less if cancelled first; never fails. */
export function pause(ms: number, cancellation?: Cancellation): Promise<void> {
  return new Promise((resolve) => {
    if (cancellation?.cancelled) return resolve();
    const done = () => {
      clearTimeout(timer);
      cancellation?.off(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    cancellation?.onCancel(done);
  });
}
