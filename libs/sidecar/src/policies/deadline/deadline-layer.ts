// The request's deadline: the route timeout, shortened by the caller's remaining deadline, passed on to the next hop.
import { DEADLINE_HEADER, parseDeadlineMs } from '@meshcart/service-kit';
import { onBodyDone } from '../../core/body-done';
import { BoundedCancellation } from '../../core/cancellation';
import { DeadlineExceededError, UpstreamTimeoutError } from '../../core/errors';
import type { Layer } from '../../core/types';

export function deadlineLayer(): Layer {
  return (inner) => async (req) => {
    const incoming = parseDeadlineMs(req.headers[DEADLINE_HEADER]);
    if (incoming !== undefined && incoming <= 0) {
      throw new DeadlineExceededError(`the caller's deadline has already passed; ${req.ctx.dstService} was not called`);
    }
    const routeMs = req.ctx.route?.timeoutMs;
    const timeoutMs = Math.min(routeMs ?? Infinity, incoming ?? Infinity);
    if (!Number.isFinite(timeoutMs)) return inner(req);
    const bounded = new BoundedCancellation(
      req.ctx.cancellation,
      timeoutMs,
      () => new UpstreamTimeoutError(`${req.ctx.dstService} did not answer within ${timeoutMs} ms`),
    );
    req.ctx.cancellation = bounded;
    // Downstream work never outlives this caller: the next hop learns how long is left (nothing has
    // run since the deadline was set, so that is all of it).
    req.headers[DEADLINE_HEADER] = String(Math.max(1, timeoutMs));
    try {
      return onBodyDone(await inner(req), bounded.release);
    } catch (err) {
      bounded.release();
      if (bounded.reason instanceof UpstreamTimeoutError) throw bounded.reason;
      throw err;
    }
  };
}
