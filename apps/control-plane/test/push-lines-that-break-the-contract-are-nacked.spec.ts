// A real control plane and a real proxy on loopback, with a relay between them that breaks push lines on their way.
import { ContractCheck, ProxyList } from '@meshcart/control-plane-api';
import { ResourcesSnapshot } from '@meshcart/mesh-config';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { asOperator, asWorkload } from './credentials';
import { startControlPlane, startProxy, startRelay } from './loopback-mesh';

const WAIT = { timeout: 5_000, interval: 50 };

const orderProxyOf = (cpUrl: string) => startProxy(cpUrl, { service: 'order-service', instance: 'order-1', endpointUrl: 'http://127.0.0.1:1' });

/** `as`: the credential to call with (the operator's unless told). */
async function call(method: 'GET' | 'PUT', url: string, body?: unknown, as: Record<string, string> = asOperator): Promise<unknown> {
  const res = await request(url, {
    method,
    headers: { ...as, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.statusCode).toBe(200);
  return res.body.json();
}

const proxyList = new ContractCheck(ProxyList);
const orderProxy = async (cp: string) => proxyList.verify(await call('GET', `${cp}/api/v1/proxies`), 'proxies').find((p) => p.instance === 'order-1');
const resources = new ContractCheck(ResourcesSnapshot);
const resourcesVersion = async (cp: string) =>
  resources.verify(await call('GET', `${cp}/api/v1/services/order-service/resources`), 'resources').version;

describe('a push line that does not match the control-plane API', () => {
  it('is NACKed with the field and the reason, and the proxy keeps its last good config', async () => {
    const cp = await startControlPlane();
    let breakNext = false;
    const relay = await startRelay(cp, (line) => {
      if (!breakNext || !line.startsWith('{"type":"resources"')) return [line];
      breakNext = false;
      const msg = JSON.parse(line) as { resources: { mtls: { mode: string } } };
      msg.resources.mtls.mode = 'MAYBE';
      return [JSON.stringify(msg)];
    });
    const rt = await orderProxyOf(relay.url);
    const good = rt.dataPlane.versions().resources;

    breakNext = true;
    await call('PUT', `${cp}/api/v1/services/payment-service/fault`, { abort: { httpStatus: 503, percent: 10 } });
    const broken = await resourcesVersion(cp);
    expect(broken).not.toBe(good);
    const nacked = await vi.waitFor(async () => {
      const p = await orderProxy(cp);
      expect(p?.acks.resources?.rejectedVersion, 'the resources version order-1 refused').toBe(broken);
      return p;
    }, WAIT);
    expect(nacked!.acks.resources).toMatchObject({ acked: false, version: good });
    expect(nacked!.acks.resources!.error).toMatch(/^the push does not match the control-plane API: \/resources\/mtls\/mode: /);
    expect(rt.dataPlane.versions().resources).toBe(good);
    expect(rt.ready()).toBe(true);

    // The stream stays up: the next push, unbroken, is applied and ACKed.
    await call('PUT', `${cp}/api/v1/services/payment-service/fault`, { abort: { httpStatus: 503, percent: 20 } });
    const next = await resourcesVersion(cp);
    await vi.waitFor(async () => {
      const p = await orderProxy(cp);
      expect(p?.acks.resources, 'order-1 ACKs the next good version').toMatchObject({ acked: true, version: next });
    }, WAIT);
    expect(rt.dataPlane.versions().resources).toBe(next);
    expect(relay.streams()).toBe(1);
  });

  it('is NACKed for endpoints too; a line whose kind cannot be told is skipped without dropping the stream', async () => {
    const cp = await startControlPlane();
    const relay = await startRelay(cp, (line) => {
      const msg = JSON.parse(line) as { type: string; clusters?: Record<string, { weight: unknown }[]> };
      const payment = msg.clusters?.['payment-service']?.[0];
      if (msg.type !== 'endpoints' || !payment) return [line];
      payment.weight = 'heavy';
      return ['this is not JSON', '{"type":"gossip","version":"1"}', JSON.stringify(msg)];
    });
    const rt = await orderProxyOf(relay.url);
    const good = rt.dataPlane.versions().endpoints;

    const payment = { service: 'payment-service', instance: 'payment-1', mode: 'sidecar', endpointUrl: 'http://127.0.0.1:2', mtls: true, labels: {} };
    await call('PUT', `${cp}/api/v1/proxies/payment-1`, payment, asWorkload('payment-service'));
    const nacked = await vi.waitFor(async () => {
      const p = await orderProxy(cp);
      expect(p?.acks.endpoints?.acked, 'order-1 NACKs the endpoints push').toBe(false);
      return p;
    }, WAIT);
    expect(nacked!.acks.endpoints).toMatchObject({ version: good, rejectedVersion: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const error = nacked!.acks.endpoints!.error;
    expect(error).toMatch(/^the push does not match the control-plane API: \/clusters\/payment-service\/0\/weight: /);
    const clusters = (rt.dataPlane.dump() as { endpoints: { clusters: Record<string, unknown[]> } }).endpoints.clusters;
    expect(clusters['payment-service'] ?? []).toEqual([]);
    expect(rt.dataPlane.versions().endpoints).toBe(good);
    expect(relay.streams()).toBe(1);
  });
});
