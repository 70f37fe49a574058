// A signal for one bounded piece of work: aborts when its parent does or when its time is up, and lets go of both once the work is done.

/**
 * Why not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 a timeout signal's timer
 * cannot be cancelled, so it fires after every request (a DOMException and an abort event each),
 * and each composite stays registered with its sources. At 1000 req/s with a 2 s per-try timeout
 * that is thousands of live timers and signals; measured, it was the largest share of the data
 * plane's own CPU and made RSS grow without bound under load. Here the timer is cleared and the
 * parent listener removed as soon as the work ends.
 */
export class BoundedSignal {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  /** True when this signal aborted because its own time ran out (not its parent's). */
  timedOut = false;

  constructor(
    private readonly parent: AbortSignal | undefined,
    ms: number,
    /** Made only when the time does run out. */
    reason: () => Error,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(reason());
      this.release();
    }, ms);
    if (parent?.aborted) this.onParentAbort();
    else parent?.addEventListener('abort', this.onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The work is done (or failed): stop the timer and stop listening to the parent. Safe to call twice. */
  readonly release = (): void => {
    clearTimeout(this.timer);
    this.parent?.removeEventListener('abort', this.onParentAbort);
  };

  private readonly onParentAbort = (): void => {
    this.controller.abort(this.parent?.reason);
    this.release();
  };
}
