import type { RouteResource } from '@meshcart/mesh-config';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../core/cancellation';
import { UpstreamConnectError } from '../../core/errors';
import { MeshEvents } from '../../core/mesh-events';
import type { MeshRequest, RequestContext } from '../../core/types';
import { retryLayer } from './retry-layer';

const route: RouteResource = {
  name: 'charges',
  match: { pathPrefix: '/' },
  cluster: 'payment-service',
  timeoutMs: 5000,
  retries: { attempts: 2, perTryTimeoutMs: 2000, retryOn: ['connect-failure'], backoff: { baseMs: 1, maxMs: 1 } },
};

function request(deadline: Cancellation): MeshRequest {
  return {
    method: 'GET',
    path: '/charges/1',
    headers: {},
    body: null,
    ctx: { direction: 'outbound', srcService: 'order-service', dstService: 'payment-service', route, cancellation: deadline },
  };
}

describe('retries give each try its own attempt and deadline', () => {
  it('send every try with its attempt number and a deadline of its own under the route deadline, and leave the route deadline to the layers above', async () => {
    const seen: { attempt?: number; cancellation?: Cancellation; ctx: RequestContext }[] = [];
    const deadline = new Cancellation();
    const req = request(deadline);
    const handler = retryLayer({ events: new MeshEvents() })(async (tryReq) => {
      seen.push({ attempt: tryReq.ctx.attempt, cancellation: tryReq.ctx.cancellation, ctx: tryReq.ctx });
      if (seen.length < 3) throw new UpstreamConnectError('refused');
      return { statusCode: 200, headers: {}, body: Readable.from([]) };
    });

    const res = await handler(req);

    expect(res.statusCode).toBe(200);
    expect(seen.map((s) => s.attempt)).toEqual([0, 1, 2]);
    // No two tries share a context: a retry never sees what an earlier try set on its own.
    expect(new Set(seen.map((s) => s.ctx)).size).toBe(3);
    const perTry = seen.map((s) => s.cancellation);
    expect(new Set(perTry).size).toBe(3);
    expect(perTry).not.toContain(deadline);
    expect(req.ctx.cancellation).toBe(deadline);
    // The route deadline still reaches a try: cancelling it cancels the try's own.
    deadline.cancel(new Error('caller left'));
    expect(perTry[2]!.cancelled).toBe(true);
  });

  it("keep the caller's context as it was apart from the last endpoint tried", async () => {
    const deadline = new Cancellation();
    const req = request(deadline);
    const before: RequestContext = { ...req.ctx };
    const handler = retryLayer({ events: new MeshEvents() })(async (tryReq) => {
      tryReq.ctx.endpoint = { instance: 'payment-1', url: 'http://127.0.0.1:1', weight: 1, labels: {} };
      return { statusCode: 200, headers: {}, body: Readable.from([]) };
    });

    await handler(req);

    expect(req.ctx.cancellation).toBe(deadline);
    expect(req.ctx.endpoint?.instance).toBe('payment-1');
    expect(req.ctx.route).toBe(before.route);
    expect(req.ctx.dstService).toBe(before.dstService);
  });
});
