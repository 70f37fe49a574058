// Calls back once when a response body has been fully read, failed, or was abandoned.
import type { Readable } from 'node:stream';
import type { MeshResponse } from './types';
import { UpstreamBody } from './upstream-body';

type Done = (error?: Error) => void;

/**
 * Several layers (telemetry, timeout, limits, endpoint state, retries) wait for the same body. They
 * share one set of end/error/close listeners on it rather than adding three each: a stream's
 * listener arrays and once-wrappers were a visible share of the per-request work.
 */
const waiting = new WeakMap<Readable, Done[]>();

export function onBodyDone(res: MeshResponse, done: Done): MeshResponse {
  const body = res.body;
  // A body straight from an upstream knows when it is over, including when taken over (no stream events then).
  if (body instanceof UpstreamBody) {
    body.whenDone(done);
    return res;
  }
  const callbacks = waiting.get(body);
  if (callbacks) {
    callbacks.push(done);
    return res;
  }
  const list: Done[] = [done];
  waiting.set(body, list);
  let called = false;
  const once = (error?: Error) => {
    if (called) return;
    called = true;
    waiting.delete(body);
    // In the order the layers asked, as separate listeners would have run.
    for (const cb of list) cb(error);
  };
  body.once('end', () => once());
  body.once('error', once);
  body.once('close', () => once());
  return res;
}
