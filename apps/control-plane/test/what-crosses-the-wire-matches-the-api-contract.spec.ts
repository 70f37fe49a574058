// Real control planes and a real proxy on loopback, every call recorded by a relay: what each side sends is what the contract says.
import {
  ApplyReply,
  CertificateRequest,
  ConfigApplied,
  ConfigHistory,
  ConfigSummary,
  ContractCheck,
  CurrentConfig,
  FaultList,
  HistoryEntry,
  IssuedCertificate,
  Lease,
  PeerBatch,
  PeerReply,
  PeersView,
  ProxyList,
  PushAck,
  PushMessage,
  Registration,
} from '@meshcart/control-plane-api';
import { EndpointsSnapshot, ResourcesSnapshot } from '@meshcart/mesh-config';
import type { TSchema } from '@sinclair/typebox';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import type { RelayedCall } from './api-relay';
import { asOperator } from './credentials';
import { deployDir, startControlPlane, startProxy, startRelay, startReplicaRelay } from './loopback-mesh';

/** Undefined when the value matches; otherwise the field that does not, so a failure says where. */
const mismatch = (schema: TSchema, value: unknown) => new ContractCheck(schema).problem(value);
const json = (text: string): unknown => JSON.parse(text);
const WAIT = { timeout: 5_000, interval: 50 };
const named = (calls: RelayedCall[], method: string, path: RegExp) => calls.filter((c) => c.method === method && path.test(c.path));

describe('the control-plane API on the wire', () => {
  it("a proxy's registrations, certificate request and ACKs, and every push line, match the contract", async () => {
    const cp = await startControlPlane();
    const relay = await startRelay(cp);
    await startProxy(relay.url, { service: 'order-service', instance: 'order-1', endpointUrl: 'http://127.0.0.1:1' });
    // The heartbeat after the certificate arrives reports its expiry: every field a registration has is seen.
    await expect
      .poll(() => named(relay.calls, 'PUT', /^\/api\/v1\/proxies\/order-1$/).some((c) => /"certNotAfter"/.test(c.body)), {
        ...WAIT,
        message: 'a heartbeat with the certificate expiry',
      })
      .toBe(true);
    await expect
      .poll(() => named(relay.calls, 'POST', /\/acks$/).length, { ...WAIT, message: 'ACKs of resources and endpoints' })
      .toBeGreaterThanOrEqual(2);

    const registrations = named(relay.calls, 'PUT', /^\/api\/v1\/proxies\/order-1$/);
    for (const c of registrations) {
      expect(c.status).toBe(200);
      expect(mismatch(Registration, json(c.body))).toBeUndefined();
      expect(mismatch(Lease, json(c.answer))).toBeUndefined();
    }
    const [csr] = named(relay.calls, 'POST', /^\/api\/v1\/certificates$/);
    expect(csr?.status).toBe(200);
    expect(mismatch(CertificateRequest, json(csr!.body))).toBeUndefined();
    expect(mismatch(IssuedCertificate, json(csr!.answer))).toBeUndefined();
    for (const c of named(relay.calls, 'POST', /\/acks$/)) {
      expect(c.status).toBe(204);
      expect(mismatch(PushAck, json(c.body))).toBeUndefined();
    }
    expect(new Set(relay.pushed.map((line) => (json(line) as { type: string }).type))).toEqual(new Set(['resources', 'endpoints']));
    for (const line of relay.pushed) expect(mismatch(PushMessage, json(line))).toBeUndefined();
  });

  it('the control plane answers every read and change as the contract says', async () => {
    const cp = await startControlPlane();
    const relay = await startRelay(cp);
    await startProxy(cp, { service: 'gateway', instance: 'gw-1', mode: 'edge' });
    await expect
      .poll(() => request(`${cp}/api/v1/proxies`).then(async (r) => JSON.stringify(await r.body.json())), {
        ...WAIT,
        message: 'an ACK in the proxies view',
      })
      .toContain('"acked":true');

    const send = async (method: 'GET' | 'PUT' | 'POST', path: string, schema: TSchema, body?: unknown) => {
      const headers = { ...asOperator, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
      const res = await request(`${relay.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const answer = await res.body.text();
      expect(res.statusCode, `${method} ${path}: ${answer}`).toBe(200);
      expect(mismatch(schema, json(answer)), `${method} ${path}`).toBeUndefined();
      return json(answer);
    };
    await send('GET', '/api/v1/proxies', ProxyList);
    const { version } = (await send('GET', '/api/v1/config', CurrentConfig)) as CurrentConfig;
    await send('GET', `/api/v1/config/versions/${version}`, HistoryEntry);
    await send('GET', '/api/v1/services/order-service/resources', ResourcesSnapshot);
    await send('GET', '/api/v1/endpoints', EndpointsSnapshot);
    await send('PUT', '/api/v1/services/payment-service/fault', ConfigSummary, { delay: { fixedDelayMs: 5, percent: 10 } });
    await send('GET', '/api/v1/faults', FaultList);
    const yaml = readFileSync(join(deployDir, 'baseline.yaml'), 'utf8');
    await send('POST', '/api/v1/config?dryRun=true', ApplyReply, { yaml });
    await send('POST', '/api/v1/config', ApplyReply, { yaml, source: 'contract test' });
    await send('POST', '/api/v1/config/rollback', ConfigApplied, { to: version });
    await send('POST', '/api/v1/config/profile', ConfigApplied, { profile: 'baseline' });
    const history = (await send('GET', '/api/v1/config/history', ConfigHistory)) as ConfigHistory;
    expect(history.map((h) => h.source)).toEqual([
      'profile file optimized.yaml',
      'fault on payment-service',
      'contract test',
      `rollback to ${version}`,
      'profile file baseline.yaml',
    ]);
  });

  it('replicas send each other batches and replies the contract describes, and show their peers as it says', async () => {
    const b = await startControlPlane();
    const toB = await startReplicaRelay(b);
    const a = await startControlPlane({ discover: async () => [toB.url], refreshMs: 100, keepaliveMs: 200 });
    await startProxy(a, { service: 'order-service', instance: 'order-a', endpointUrl: 'http://127.0.0.1:1' });
    const fault = await request(`${a}/api/v1/services/payment-service/fault`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...asOperator },
      body: JSON.stringify({ abort: { httpStatus: 503, percent: 1 } }),
    });
    expect(fault.statusCode).toBe(200);
    await fault.body.dump();

    const kinds = (calls: RelayedCall[]) => new Set<string>(calls.flatMap((c) => (json(c.body) as PeerBatch).events.map((e) => e.type)));
    const batches = await vi.waitFor(
      () => {
        const l = named(toB.calls, 'POST', /^\/api\/v1\/peers\/events$/);
        expect([...kinds(l)].sort(), 'the kinds of event passed to the other replica').toEqual(
          expect.arrayContaining(['ack', 'config', 'register', 'stream']),
        );
        return l;
      },
      { timeout: 10_000, interval: 50 },
    );
    // The first batch is a joining replica's snapshot, answered with the other's whole state.
    expect((json(batches[0]!.answer) as PeerReply).snapshot).toBeDefined();
    for (const c of batches) {
      expect(c.status).toBe(200);
      expect(mismatch(PeerBatch, json(c.body))).toBeUndefined();
      expect(mismatch(PeerReply, json(c.answer))).toBeUndefined();
    }
    for (const cp of [a, b]) {
      const view = await (await request(`${cp}/api/v1/peers`)).body.json();
      expect(mismatch(PeersView, view)).toBeUndefined();
    }
  });
});
