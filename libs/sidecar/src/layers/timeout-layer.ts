// The request's deadline: the route timeout, shortened by the caller's remaining deadline, passed on to the next hop.
import { DEADLINE_HEADER, parseDeadlineMs } from '@meshcart/service-kit';
import { onBodyDone } from '../body-done';
import { DeadlineExceededError, UpstreamTimeoutError } from '../errors';
import type { Layer } from '../types';

export function timeoutLayer(): Layer {
  return (inner) => async (req) => {
    const incoming = parseDeadlineMs(req.headers[DEADLINE_HEADER]);
    if (incoming !== undefined && incoming <= 0) {
      throw new DeadlineExceededError(`the caller's deadline has already passed; ${req.ctx.dstService} was not called`);
    }
    const routeMs = req.ctx.route?.timeoutMs;
    const timeoutMs = Math.min(routeMs ?? Infinity, incoming ?? Infinity);
    if (!Number.isFinite(timeoutMs)) return inner(req);
    const started = Date.now();
    const controller = new AbortController();
    const outer = req.ctx.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new UpstreamTimeoutError(`${req.ctx.dstService} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    };
    req.ctx.signal = controller.signal;
    // Downstream work never outlives this caller: the next hop learns how long is left.
    req.headers[DEADLINE_HEADER] = String(Math.max(1, timeoutMs - (Date.now() - started)));
    try {
      return onBodyDone(await inner(req), cleanup);
    } catch (err) {
      cleanup();
      if (controller.signal.reason instanceof UpstreamTimeoutError) throw controller.signal.reason;
      throw err;
    }
  };
}
