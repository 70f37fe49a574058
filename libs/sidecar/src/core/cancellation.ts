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
 * and lets go of both once the work is done. It stops listening to its parent and leaves its
 * deadline queue as soon as the work ends: at 1000 req/s with a 2 s per-try timeout, deadlines left
 * to pass would be thousands alive at once (which is what `AbortSignal.timeout` did on Node 20).
 */
export class BoundedCancellation extends Cancellation {
  /** When its time is up, on performance.now()'s clock. */
  readonly dueAt: number;
  /** True when cancelled because its own time ran out (not its parent's). */
  timedOut = false;
  /** Released (the work is over) or cancelled: its deadline no longer matters. */
  over = false;
  private timeoutReason: (() => Error) | undefined;
  private readonly queue: DeadlineQueue;

  constructor(
    private readonly parent: Cancellation | undefined,
    ms: number,
    /** Made only when the time does run out. */
    timeoutReason: () => Error,
  ) {
    super();
    this.timeoutReason = timeoutReason;
    this.dueAt = performance.now() + ms;
    this.queue = DeadlineQueue.of(ms);
    this.queue.add(this);
    if (parent?.reason !== undefined) this.onParentCancel(parent.reason);
    else parent?.onCancel(this.onParentCancel);
  }

  /** The work is done (or failed): stop waiting for the deadline and stop listening to the parent. Safe to call twice. */
  readonly release = (): void => {
    if (this.over) return;
    this.over = true;
    // The reason's closure holds the request; a released deadline waiting in its queue must not.
    this.timeoutReason = undefined;
    this.parent?.off(this.onParentCancel);
    this.queue.released();
  };

  /** Called by its queue when its time is up. */
  expire(): void {
    if (this.over) return;
    const reason = this.timeoutReason!();
    this.timedOut = true;
    this.cancel(reason);
    this.release();
  }

  private readonly onParentCancel = (reason: Error): void => {
    this.cancel(reason);
    this.release();
  };
}

/**
 * Deadlines of one length, which fall due in the order they were set, under one Node timer armed for
 * the oldest one still pending. Why not a setTimeout per deadline: a setTimeout and a clearTimeout per
 * request (with Node's timer list for that length built and dropped each time when requests do not
 * overlap) were ~1% of a sidecar's CPU in bench:peers, for deadlines that almost never pass. Here
 * setting one is an array push and ending it a flag; the timer is re-armed only when it fires. It is
 * unref'd: a request in flight keeps the process alive through its sockets, not through its deadline.
 */
class DeadlineQueue {
  private static readonly byLength = new Map<number, DeadlineQueue>();
  /**
   * Queues kept with nothing pending. Deadlines of one length keep coming (a route's timeout), but a
   * caller's remaining deadline gives every request a length of its own: beyond this many, a queue
   * that empties stops its timer and goes, as a plain setTimeout per deadline would.
   */
  private static readonly MAX_IDLE = 16;

  static of(ms: number): DeadlineQueue {
    let queue = DeadlineQueue.byLength.get(ms);
    if (!queue) DeadlineQueue.byLength.set(ms, (queue = new DeadlineQueue(ms)));
    return queue;
  }

  /** Oldest first; entries before `first` are gone. */
  private entries: BoundedCancellation[] = [];
  private first = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly ms: number) {}

  add(deadline: BoundedCancellation): void {
    this.entries.push(deadline);
    if (!this.timer) this.arm(deadline.dueAt - performance.now());
  }

  /** One of its deadlines is over. Those at the front leave now: requests mostly end in the order they started. */
  released(): void {
    this.dropOver();
    if (this.first === this.entries.length && DeadlineQueue.byLength.size > DeadlineQueue.MAX_IDLE) this.close();
  }

  private dropOver(): void {
    const entries = this.entries;
    while (this.first < entries.length && entries[this.first]!.over) this.first++;
    if (this.first === entries.length) {
      entries.length = 0;
      this.first = 0;
    } else if (this.first > 1024 && this.first * 2 > entries.length) {
      this.entries = entries.slice(this.first);
      this.first = 0;
    }
  }

  private arm(inMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(inMs)));
    this.timer.unref();
  }

  private close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (DeadlineQueue.byLength.get(this.ms) === this) DeadlineQueue.byLength.delete(this.ms);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    // An expiry can end other deadlines (its children) at once: look at the front again after each.
    for (;;) {
      this.dropOver();
      const next = this.entries[this.first];
      if (!next) break;
      if (next.dueAt > now) return this.arm(next.dueAt - now);
      this.first++;
      next.expire();
    }
    // Nothing pending when the timer fired: the next deadline of this length starts a new queue.
    this.close();
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
