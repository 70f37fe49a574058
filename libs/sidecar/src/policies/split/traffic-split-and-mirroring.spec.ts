import { parseMeshConfig, type ConfigError } from '@meshcart/mesh-config';
import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { planeWith } from '../policy-harness';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function versions() {
  const named = async (name: string): Promise<RecordingServer> => {
    const s = await startRecordingServer((_req, res) => res.end(name));
    closers.push(s.close);
    return s;
  };
  const [v1, v2] = [await named('v1'), await named('v2')];
  return {
    v1,
    v2,
    endpoints: [
      { url: v1.url, labels: { version: 'v1' } },
      { url: v2.url, labels: { version: 'v2' } },
    ],
  };
}

const subsets = `      policy:
        subsets: { stable: { version: v1 }, canary: { version: v2 } }`;

describe('traffic split', () => {
  it('sends a 10% canary about 10% of requests', async () => {
    const { v1, v2, endpoints } = await versions();
    const mesh = planeWith(
      `${subsets}
      routes:
        - name: all
          match: { pathPrefix: / }
          split: [{ subset: stable, weight: 90 }, { subset: canary, weight: 10 }]`,
      endpoints,
    );
    closers.push(mesh.close);
    const n = 2000;
    for (let i = 0; i < n; i++) await mesh.call();
    expect(v1.requests.length + v2.requests.length).toBe(n);
    // 10% of 2000 is 200; the binomial's standard deviation is about 13, so ±60 is over four of them.
    expect(v2.requests.length).toBeGreaterThan(140);
    expect(v2.requests.length).toBeLessThan(260);
  });

  it('routes requests with a matching header to one subset, others as usual', async () => {
    const { v1, v2, endpoints } = await versions();
    const mesh = planeWith(
      `${subsets}
      routes:
        - name: testers
          match: { pathPrefix: /, headers: { x-canary: "true" } }
          subset: canary
        - name: everyone
          match: { pathPrefix: / }
          subset: stable`,
      endpoints,
    );
    closers.push(mesh.close);
    for (let i = 0; i < 10; i++) expect((await mesh.call('/x', { headers: { 'x-canary': 'true' } })).text).toBe('v2');
    for (let i = 0; i < 10; i++) expect((await mesh.call('/x')).text).toBe('v1');
    expect([v1.requests.length, v2.requests.length]).toEqual([10, 10]);
  });
});

describe('mirroring', () => {
  it('copies requests to the shadow subset and discards its answers', async () => {
    const { v1, v2, endpoints } = await versions();
    const mesh = planeWith(
      `${subsets}
      routes:
        - name: all
          match: { pathPrefix: / }
          subset: stable
          mirror: { subset: canary, percent: 100 }`,
      endpoints,
    );
    closers.push(mesh.close);
    for (let i = 0; i < 5; i++) {
      const res = await mesh.call('/charges', { method: 'PUT', body: `n${i}` });
      expect(res.text).toBe('v1');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(v1.requests).toHaveLength(5);
    expect(v2.requests.map((r) => r.body)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(v2.requests[0]!.headers['x-meshcart-shadow']).toBe('true');
    expect(v2.requests[0]!.headers['host']).toBe('payment-service-shadow');
  });
});

describe('split config', () => {
  it('rejects unknown subsets and weights that do not add up to 100', () => {
    try {
      parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: t }
spec:
  services:
    payment-service:
      policy: { subsets: { stable: { version: v1 } } }
      routes:
        - name: r
          match: { pathPrefix: / }
          split: [{ subset: stable, weight: 80 }, { subset: canry, weight: 10 }]
`);
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([
        { path: 'spec.services.payment-service.routes[0].split[1].subset', message: 'unknown subset "canry" of payment-service; defined: stable' },
        { path: 'spec.services.payment-service.routes[0].split', message: 'weights must add up to 100, not 90' },
      ]);
    }
  });
});
