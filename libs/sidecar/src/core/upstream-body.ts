// An upstream response body that its final consumer can take over, chunk by chunk, without the stream in between.
import { Readable } from 'node:stream';
import { errors } from 'undici';

type Done = (error?: Error) => void;

/** Whoever takes the body over: told every chunk (false asks for a pause until `resumeSink`), then the end or a failure. */
export interface BodySink {
  data(chunk: Buffer): boolean;
  end(): void;
  error(err: Error): void;
}

/** The connection the body comes from (see UpstreamCall in tiers/endpoint.ts). */
export interface BodySource {
  resume(): void;
  /** The body is over: read to its end (`err` undefined) or given up; given up early, abort the request. */
  closed(err: Error | undefined): void;
}

/**
 * A Readable for every consumer that wants one (a retry or fallback discarding it, a test, any
 * layer), but one the final consumer (MeshDispatcher's call, a listener's response) can take over
 * with `handOff` while no one has read from it yet. Chunks then go from undici's handler straight
 * to that consumer: a stream in between costs its buffering and several process.nextTick turns per
 * response (measured, a visible share of a proxyless call). Until someone reads or takes it over,
 * chunks wait here, so either way nothing is lost.
 */
export class UpstreamBody extends Readable {
  private mode: 'waiting' | 'stream' | 'sink' = 'waiting';
  private pending: Buffer[] | undefined = undefined;
  private pendingBytes = 0;
  private ended = false;
  private sink?: BodySink;
  private doneCallbacks: Done[] | undefined = undefined;
  private over = false;

  /** Read to its end, failed or given up. */
  get settled(): boolean {
    return this.over;
  }

  constructor(private readonly source: BodySource) {
    super({ highWaterMark: 64 * 1024 });
  }

  /**
   * Called once when the body has been read to its end, failed or was given up, in the order asked.
   * The layers waiting on a body (telemetry, deadlines, limits, endpoint state) use this rather than
   * three stream listeners each (see body-done.ts).
   */
  whenDone(done: Done): void {
    if (this.over) return done();
    (this.doneCallbacks ??= []).push(done);
  }

  /** From undici: the next chunk. False asks undici to pause reading the connection. */
  deliver(chunk: Buffer): boolean {
    if (this.mode === 'sink') return this.sink!.data(chunk);
    if (this.mode === 'stream') return this.push(chunk);
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    return this.pendingBytes < this.readableHighWaterMark;
  }

  /** From undici: the whole body has arrived. */
  finish(): void {
    this.ended = true;
    if (this.mode === 'stream') this.push(null);
    else if (this.mode === 'sink') {
      // The layers' bookkeeping first, as when they listened for 'end' before the consumer did.
      this.close(undefined);
      this.sink!.end();
    }
  }

  /** From undici: the body broke (or the request was aborted). */
  fail(err: Error): void {
    if (this.mode === 'sink') this.close(err);
    else this.on('error', noop).destroy(err);
  }

  /**
   * The final consumer takes the body over; false when it cannot (someone already reads it as a
   * stream, or it is over), and the consumer reads the stream as usual.
   */
  handOff(sink: BodySink): boolean {
    if (this.mode !== 'waiting' || this.over || this.destroyed || this.listenerCount('data') > 0 || this.readableFlowing !== null) return false;
    this.mode = 'sink';
    this.sink = sink;
    const pending = this.pending;
    this.pending = undefined;
    let more = true;
    if (pending) for (const chunk of pending) more = sink.data(chunk);
    if (this.ended) this.finish();
    else if (more) this.source.resume();
    return true;
  }

  /** The sink paused (its `data` said false) and may take more now. */
  resumeSink(): void {
    if (!this.over) this.source.resume();
  }

  override _read(): void {
    if (this.mode === 'waiting') {
      this.mode = 'stream';
      const pending = this.pending;
      this.pending = undefined;
      if (pending) for (const chunk of pending) this.push(chunk);
      if (this.ended) return void this.push(null);
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Given up before its end: the reader sees it as undici's own body would show it.
    if (!err && !this.readableEnded && !(this.mode === 'sink' && this.ended)) err = new errors.RequestAbortedError();
    this.close(err ?? undefined);
    if (!err) return callback(null);
    // The layers' bookkeeping no longer listens for 'error' (see whenDone), which used to keep a
    // failure nobody else watches from crashing the process: it is told through close() instead.
    if (this.listenerCount('error') === 0) this.on('error', noop);
    // An error listener may be added a microtask later, by whoever awaited the response: wait for it.
    setImmediate(callback, err);
  }

  private close(err: Error | undefined): void {
    if (this.over) return;
    this.over = true;
    this.source.closed(err);
    const callbacks = this.doneCallbacks;
    this.doneCallbacks = undefined;
    if (callbacks) for (const cb of callbacks) cb(err);
    // A consumer that took the body over learns of a failure from here (it has no stream to watch).
    if (err && this.mode === 'sink') this.sink!.error(err);
  }
}

const noop = () => undefined;
