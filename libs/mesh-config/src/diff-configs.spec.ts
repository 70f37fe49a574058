import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffConfigs, loadMeshConfigFile } from './index';

describe('diffConfigs', () => {
  it('lists each changed knob with its path, old and new value', () => {
    expect(diffConfigs({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 2, c: [1, 2] }, e: true })).toEqual([
      { path: 'a.b', from: 1, to: 2 },
      { path: 'd', from: 'x', to: undefined },
      { path: 'e', from: undefined, to: true },
    ]);
  });

  it('reads the baseline → optimized change as the seed case: knobs only', () => {
    const dir = join(__dirname, '../../../deploy/mesh');
    const changes = diffConfigs(loadMeshConfigFile(join(dir, 'baseline.yaml')), loadMeshConfigFile(join(dir, 'optimized.yaml')));
    const paths = changes.map((c) => c.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'metadata.name',
        'spec.mtls.keyType',
        'spec.defaults.policy.connectionPool.maxRequestsPerConnection',
        'spec.defaults.policy.loadBalancer.policy',
        'spec.defaults.accessLog.mode',
        'spec.defaults.routeMatching',
      ]),
    );
    expect(paths.some((p) => p.startsWith('spec.services') || p.startsWith('spec.edge') || p.startsWith('spec.authorization'))).toBe(false);
  });
});
