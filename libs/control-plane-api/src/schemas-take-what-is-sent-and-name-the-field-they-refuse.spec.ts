import { compileProxyResources, endpointsSnapshot, loadMeshConfigFile } from '@meshcart/mesh-config';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Ajv } from 'ajv';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from './index';

const deployDir = join(__dirname, '../../../deploy/mesh');
// Fastify's validator as the control plane configures it (libs/service-kit): the server side of every body.
const ajv = new Ajv({ allErrors: true, coerceTypes: 'array', removeAdditional: false, strict: false });
/** What crosses the wire is JSON: undefined keys are dropped, dates are strings. */
const wire = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));
const pushes = new api.ContractCheck(api.PushMessage);

describe('control-plane API contract', () => {
  it('every exported schema compiles for Fastify (ajv) and for the proxies (TypeCompiler)', () => {
    const schemas = Object.entries(api).filter(([, v]) => typeof v === 'object' && v !== null && !(v instanceof api.ContractCheck));
    expect(schemas.length).toBeGreaterThan(30);
    for (const [name, schema] of schemas) {
      expect(() => ajv.compile(schema as object), name).not.toThrow();
      expect(() => TypeCompiler.Compile(schema as never), name).not.toThrow();
    }
  });

  it('takes the resources compiled for every service of every shipped profile, as pushed', () => {
    for (const profile of ['baseline', 'optimized']) {
      const config = loadMeshConfigFile(join(deployDir, `${profile}.yaml`));
      for (const service of [...Object.keys(config.spec.services), 'gateway']) {
        const line = wire({ type: 'resources', ...compileProxyResources(config, service) });
        expect(pushes.problem(line), `${profile} ${service}`).toBeUndefined();
        expect(pushes.matches(line)).toBe(true);
      }
    }
  });

  it('takes endpoints and pings as pushed, and a push with fields a newer control plane added', () => {
    const payment = { instance: 'payment-1', url: 'https://127.0.0.1:7001', h2cUrl: 'http://127.0.0.1:7002', mtls: true, weight: 1, labels: {} };
    const { version, clusters } = endpointsSnapshot({ 'payment-service': [payment] });
    expect(pushes.problem(wire({ type: 'endpoints', version, clusters, complete: false }))).toBeUndefined();
    expect(pushes.problem({ type: 'ping' })).toBeUndefined();
    const config = loadMeshConfigFile(join(deployDir, 'optimized.yaml'));
    const { version: resourcesVersion, resources } = compileProxyResources(config, 'order-service');
    const newer = { type: 'resources', version: resourcesVersion, resources: { ...resources, tracing: { sampleRate: 0.1 } } };
    expect(pushes.problem(wire(newer))).toBeUndefined();
  });

  it('refuses a push that does not match, naming the field', () => {
    const config = loadMeshConfigFile(join(deployDir, 'optimized.yaml'));
    const { version, resources } = compileProxyResources(config, 'order-service');
    const check = new api.ContractCheck(api.ResourcesPush);
    const maybe = { type: 'resources', version, resources: { ...resources, mtls: { ...resources.mtls, mode: 'MAYBE' } } };
    expect(check.problem(maybe)).toMatch(/^\/resources\/mtls\/mode: /);
    const { clusters: _dropped, ...withoutClusters } = resources;
    expect(check.problem({ type: 'resources', version, resources: withoutClusters })).toMatch(/^\/resources\/clusters: /);
    const endpoints = new api.ContractCheck(api.EndpointsPush);
    const heavy = { instance: 'p-1', url: 'http://127.0.0.1:1', weight: 'heavy', labels: {} };
    expect(endpoints.problem({ type: 'endpoints', version: 'v', clusters: { p: [heavy] } })).toMatch(/^\/clusters\/p\/0\/weight: /);
    expect(pushes.matches({ type: 'gossip' })).toBe(false);
  });

  it('a registration (also the heartbeat) is checked field by field, and takes nothing it does not know', () => {
    const check = ajv.compile(api.Registration);
    const registration = { service: 'order-service', instance: 'order-1', mode: 'sidecar', adminUrl: 'http://127.0.0.1:9901', labels: {} };
    expect(check({ ...registration, configVersion: null, endpointsVersion: 'abc', certNotAfter: new Date().toISOString() })).toBe(true);
    expect(check({ service: 'Bad Name', instance: 'order 1', mode: 'warp', labels: {} })).toBe(false);
    expect([...new Set(check.errors?.map((e) => e.instancePath))].sort()).toEqual(['/instance', '/mode', '/service']);
    expect(check({ ...registration, leader: true })).toBe(false);
    expect(check.errors?.map((e) => e.params)).toEqual([{ additionalProperty: 'leader' }]);
  });

  it('a peer batch carries a config entry unchecked (a replica validates it when adopting it), and a CA fingerprint in hex', () => {
    const check = ajv.compile(api.PeerBatch);
    const appliedAt = new Date().toISOString();
    const entry = { seq: 1, version: '0123456789abcdef', profile: 'next', appliedAt, source: 'meshctl apply', config: { from: 'the future' } };
    const batch = {
      from: 'cp-1',
      ca: 'a'.repeat(64),
      events: [
        { type: 'config', entry },
        { type: 'leave', instance: 'order-1' },
        { type: 'drain', instance: 'product-2', drained: true },
      ],
    };
    expect(check(batch)).toBe(true);
    expect(check({ ...batch, ca: 'not hex' })).toBe(false);
    expect(check.errors?.map((e) => e.instancePath)).toEqual(['/ca']);
  });
});
