import { startRecordingServer } from '@meshcart/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { planeWith } from '../policies/policy-harness';

/** Upstreams and planes a test starts, closed once it ends. */
const started: { close: () => Promise<void> }[] = [];
afterEach(() => Promise.all(started.splice(0).map((s) => s.close())));
const server = async (reply: Parameters<typeof startRecordingServer>[0]) => {
  const s = await startRecordingServer(reply);
  started.push(s);
  return s;
};

const status = (code: number) => (_req: unknown, res: { writeHead: (n: number) => void; end: () => void }) => {
  res.writeHead(code);
  res.end();
};
const delayed = (ms: number) => (_req: unknown, res: { end: (s: string) => void }) => void setTimeout(() => res.end('ok'), ms);

/** A push that changes only order-service's own inbound rate limit: nothing about payment-service. */
const UNRELATED = ' { rateLimit: { requestsPerSecond: 100, burst: 100 } }';

function plane(paymentSpec: string, upstreams: string[]) {
  const mesh = planeWith(paymentSpec, upstreams);
  started.push(mesh);
  return {
    ...mesh,
    /** Pushes the unrelated change and checks that it really was a new version. */
    pushUnrelated() {
      const before = mesh.dataPlane.versions().resources;
      mesh.pushOrderSpec(UNRELATED);
      expect(mesh.dataPlane.versions().resources).not.toBe(before);
    },
  };
}

describe('policy state survives a config push that does not touch it', () => {
  it('an ejected endpoint stays ejected', async () => {
    const bad = await server(status(503));
    const good = await server(status(200));
    const mesh = plane(
      `      policy:
        loadBalancer: { policy: ROUND_ROBIN }
        outlierDetection: { consecutive5xxErrors: 2, intervalMs: 20, baseEjectionTimeMs: 60000, maxEjectionPercent: 50 }`,
      [bad.url, good.url],
    );
    for (let i = 0; i < 4; i++) await mesh.call();
    expect(bad.requests).toHaveLength(2);

    mesh.pushUnrelated();
    for (let i = 0; i < 6; i++) expect((await mesh.call()).status).toBe(200);
    expect(bad.requests).toHaveLength(2);
  });

  it('an open breaker stays open', async () => {
    const up = await server(status(503));
    const mesh = plane(
      `      policy:
        circuitBreaker: { requestVolumeThreshold: 4, errorThresholdPercentage: 50, sleepWindow: 60s }`,
      [up.url],
    );
    for (let i = 0; i < 4; i++) await mesh.call();

    mesh.pushUnrelated();
    expect((await mesh.call()).headers['x-meshcart-error']).toBe('MESH_ERR_CIRCUIT_OPEN');
    expect(up.requests).toHaveLength(4);
  });

  it('the retry budget keeps what recent traffic earned', async () => {
    let failing = false;
    const up = await server((_req, res) => status(failing ? 503 : 200)(_req, res));
    // With no floor, a budget has room for a retry only after enough requests: 20 earn 4.
    const mesh = plane(
      `      policy:
        retries: { attempts: 1, retryOn: [gateway-error], backoff: { baseMs: 0, maxMs: 0 } }
        retryBudget: { budgetPercent: 20, minRetriesPerSecond: 0 }`,
      [up.url],
    );
    for (let i = 0; i < 20; i++) expect((await mesh.call()).status).toBe(200);

    mesh.pushUnrelated();
    failing = true;
    expect((await mesh.call()).status).toBe(503);
    expect(up.requests).toHaveLength(22); // the failed call was retried once, from the budget earned before the push
  });

  it('peak-EWMA latency scores are kept', async () => {
    const slow = await server(delayed(60));
    const fast = await server(delayed(5));
    const mesh = plane(
      `      policy:
        loadBalancer: { policy: PEAK_EWMA }`,
      [slow.url, fast.url],
    );
    // Both endpoints get measured: an unmeasured one is assumed cheap, so it is tried.
    while (slow.requests.length === 0 || fast.requests.length === 0) await mesh.call();
    const slowSeen = slow.requests.length;

    mesh.pushUnrelated();
    for (let i = 0; i < 6; i++) await mesh.call();
    expect(slow.requests).toHaveLength(slowSeen);
  });
});
