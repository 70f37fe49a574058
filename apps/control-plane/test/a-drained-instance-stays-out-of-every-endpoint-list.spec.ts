// Draining on a real control plane: an operator takes an instance out of every endpoint list, its heartbeats do not
// bring it back, undraining does; a workload may not drain, and draining an unknown instance says what to look at.
import { ContractCheck, DrainState, ProxyList } from '@meshcart/control-plane-api';
import { EndpointsSnapshot } from '@meshcart/mesh-config';
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { access, asOperator, asWorkload } from './credentials';

const dir = makeTempDir('meshcart-drain-');
const proxyList = new ContractCheck(ProxyList);
const drainState = new ContractCheck(DrainState);
const endpoints = new ContractCheck(EndpointsSnapshot);

const app = buildApp({
  configDir: join(__dirname, '../../../deploy/mesh'),
  profile: 'optimized',
  caDir: join(dir.path, 'ca'),
  ...access,
  logger: false,
});
let url = '';
afterAll(async () => {
  await app.close();
  dir.remove();
});

async function call(path: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', headers: Record<string, string> = {}, body?: unknown) {
  const res = await request(`${url}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { error?: { code: string; message: string } } };
}

const register = (instance: string) =>
  call(`/api/v1/proxies/${instance}`, 'PUT', asWorkload('product-service'), {
    service: 'product-service',
    instance,
    mode: 'sidecar',
    endpointUrl: `http://127.0.0.1:${instance.endsWith('1') ? 7001 : 7002}`,
    mtls: true,
    labels: { version: 'v1' },
  });
const productEndpoints = async () =>
  endpoints
    .verify((await call('/api/v1/endpoints', 'GET')).json, 'endpoints')
    .clusters['product-service']?.map((e) => e.instance)
    .sort() ?? [];

describe('draining an instance', () => {
  it('takes it out of every endpoint list until it is undrained, whatever its heartbeats say', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    expect((await register('product-1')).status).toBe(200);
    expect((await register('product-2')).status).toBe(200);
    expect(await productEndpoints()).toEqual(['product-1', 'product-2']);

    const drained = await call('/api/v1/proxies/product-1/drain', 'POST', asOperator);
    expect(drained.status).toBe(200);
    expect(drainState.verify(drained.json, 'drain')).toEqual({ instance: 'product-1', drained: true });
    expect(await productEndpoints()).toEqual(['product-2']);

    // Its heartbeat (the same registration again) does not bring it back; it stays registered, marked drained.
    expect((await register('product-1')).status).toBe(200);
    expect(await productEndpoints()).toEqual(['product-2']);
    const listed = proxyList.verify((await call('/api/v1/proxies', 'GET')).json, 'proxies');
    expect(listed.map((p) => [p.instance, p.drained ?? false])).toEqual([
      ['product-1', true],
      ['product-2', false],
    ]);

    const undrained = await call('/api/v1/proxies/product-1/drain', 'DELETE', asOperator);
    expect(drainState.verify(undrained.json, 'undrain')).toEqual({ instance: 'product-1', drained: false });
    expect(await productEndpoints()).toEqual(['product-1', 'product-2']);

    const trail = (await call('/api/v1/audit', 'GET')).json as unknown as { by: string; action: string }[];
    expect(trail.map((e) => e.action)).toEqual(['drain product-1 (product-service)', 'undrain product-1 (product-service)']);
  });

  it('is an operator change: a workload is refused, and an unknown instance is named', async () => {
    const byWorkload = await call('/api/v1/proxies/product-2/drain', 'POST', asWorkload('product-service'));
    expect(byWorkload.status).toBe(403);
    expect(await productEndpoints()).toEqual(['product-1', 'product-2']);
    const unknown = await call('/api/v1/proxies/product-9/drain', 'POST', asOperator);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toEqual({
      code: 'PROXY_NOT_REGISTERED',
      message: 'proxy "product-9" is not registered: GET /api/v1/proxies lists the instances',
    });
  });
});
