// The route's overall deadline: aborts the upstream call when it passes, and frees the timer when done.
import { onBodyDone } from '../body-done';
import { UpstreamTimeoutError } from '../errors';
import type { Layer } from '../types';

export function timeoutLayer(): Layer {
  return (inner) => async (req) => {
    const timeoutMs = req.ctx.route?.timeoutMs;
    if (!timeoutMs) return inner(req);
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
    try {
      return onBodyDone(await inner(req), cleanup);
    } catch (err) {
      cleanup();
      if (controller.signal.reason instanceof UpstreamTimeoutError) throw controller.signal.reason;
      throw err;
    }
  };
}
