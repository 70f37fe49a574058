// Retries: per-try deadline, retry-on conditions, exponential backoff with jitter, and a budget against storms.
import type { RetrySettings } from '@meshcart/mesh-config';
import { Readable } from 'node:stream';
import { onBodyDone } from '../../core/body-done';
import { BoundedCancellation, pause } from '../../core/cancellation';
import { UpstreamConnectError, UpstreamResetError, UpstreamTimeoutError } from '../../core/errors';
import type { MeshEvents } from '../../core/mesh-events';
import type { RetryBudget } from './retry-budget';
import type { Handler, Layer, MeshRequest, MeshResponse } from '../../core/types';

/** Requests safe to send twice. Others only with an Idempotency-Key, which makes the server dedupe. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Bodies up to this size are kept for retries; a larger one is sent once, streaming. */
export const MAX_RETRY_BODY_BYTES = 64 * 1024;

function retriable(policy: RetrySettings, res: MeshResponse | undefined, err: unknown): boolean {
  for (const on of policy.retryOn) {
    if (typeof on === 'number') {
      if (res?.statusCode === on) return true;
      continue;
    }
    switch (on) {
      case '5xx':
        if (
          (res && res.statusCode >= 500) ||
          err instanceof UpstreamTimeoutError ||
          err instanceof UpstreamResetError ||
          err instanceof UpstreamConnectError
        )
          return true;
        break;
      case 'gateway-error':
        if ((res && [502, 503, 504].includes(res.statusCode)) || err instanceof UpstreamTimeoutError) return true;
        break;
      case 'connect-failure':
        if (err instanceof UpstreamConnectError) return true;
        break;
      case 'reset':
        if (err instanceof UpstreamResetError) return true;
        break;
      case 'retriable-4xx':
        if (res?.statusCode === 409) return true;
        break;
    }
  }
  return false;
}

/** Reads up to `limit` bytes; returns the bytes, or a stream that replays them and the rest when larger. */
async function bufferBody(body: Readable, limit: number): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = (await iterator.next()) as IteratorResult<Buffer>;
    if (done) return Buffer.concat(chunks);
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      return Readable.from(
        (async function* () {
          yield* chunks;
          for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
        })(),
      );
    }
  }
}

/** The retry budget is per-cluster state: the destination cluster (found with the route) holds it. */
export function retryLayer(deps: { events: MeshEvents }): Layer {
  return (inner) => (req) => {
    const policy = req.ctx.route?.retries;
    const cluster = req.ctx.route?.cluster ?? req.ctx.dstService;
    const budget = req.ctx.cluster?.retryBudget;
    budget?.recordRequest();
    const safe = IDEMPOTENT.has(req.method) || req.headers['idempotency-key'] !== undefined;
    // A plain call when this request may not be retried: see "a layer whose policy is off" in types.ts.
    if (!policy || (!safe && !policy.retryOn.includes('connect-failure'))) return inner(req);
    // A request that is not safe to repeat is retried only when a try never reached the upstream.
    return withRetries(inner, req, policy, cluster, budget, deps.events, !safe);
  };
}

async function withRetries(
  inner: Handler,
  req: MeshRequest,
  policy: RetrySettings,
  cluster: string,
  budget: RetryBudget | undefined,
  events: MeshEvents,
  connectFailuresOnly: boolean,
): Promise<MeshResponse> {
  let body: Buffer | null = null;
  if (req.body) {
    const buffered = await bufferBody(req.body, MAX_RETRY_BODY_BYTES);
    if (!Buffer.isBuffer(buffered)) return inner({ ...req, body: buffered });
    body = buffered;
  }
  const deadline = req.ctx.cancellation;
  // Shared by every try, filled by the concrete tier, so a retry goes to an endpoint not yet tried
  // (a dead replica fails fast, has nothing in flight and would otherwise win least-request again).
  const triedEndpoints: string[] = [];

  for (let attempt = 0; ; attempt++) {
    // The try's own deadline covers its response body too; the reason is the one AbortSignal.timeout gives.
    const perTry = policy.perTryTimeoutMs
      ? new BoundedCancellation(deadline, policy.perTryTimeoutMs, () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
      : undefined;
    const cancellation = perTry ?? deadline;
    // The first try runs on the request itself; a retry gets a copy with its own attempt and deadline.
    // Copying the request and its context for every request (two object spreads over contexts of many
    // shapes) was this layer's largest cost in bench:peers profiles.
    const tryReq: MeshRequest = attempt === 0 ? req : { ...req, ctx: { ...req.ctx } };
    tryReq.body = body ? Readable.from([body]) : null;
    tryReq.ctx.attempt = attempt;
    tryReq.ctx.triedEndpoints = triedEndpoints;
    if (cancellation) tryReq.ctx.cancellation = cancellation;
    let res: MeshResponse | undefined;
    let err: unknown;
    try {
      res = await inner(tryReq);
      if (perTry) onBodyDone(res, perTry.release);
    } catch (e) {
      perTry?.release();
      // A per-try timeout is this try's failure; the route deadline passing ends all tries.
      err = perTry?.timedOut && !deadline?.cancelled ? new UpstreamTimeoutError(`try ${attempt + 1} took over ${policy.perTryTimeoutMs} ms`) : e;
    }
    // Layers above this one, and the next try's copy, see the route's deadline again, not this try's.
    req.ctx.cancellation = deadline;
    req.ctx.endpoint = tryReq.ctx.endpoint;
    const again = connectFailuresOnly ? err instanceof UpstreamConnectError : retriable(policy, res, err);
    const last = attempt >= policy.attempts || deadline?.cancelled || !again;
    if (!last && budget && !budget.tryRetry()) {
      events.emit('retry-budget-exhausted', { cluster, route: req.ctx.route!.name });
    } else if (!last) {
      events.emit('retry', { cluster, route: req.ctx.route!.name });
      res?.body.resume();
      // Full jitter: spreads the retries of many callers instead of synchronising them.
      const cap = Math.min(policy.backoff.maxMs, policy.backoff.baseMs * 2 ** attempt);
      await pause(Math.random() * cap, deadline);
      continue;
    }
    if (res) return res;
    throw err;
  }
}
