import { describe, expect, it } from 'vitest';
import { render, SHOP_SERVICES, type K8sObject } from './render';

/** Every leaf that differs between two values, as a path of keys (list items by their name when they have one). */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b ? [] : [path];
  if (Array.isArray(a) !== Array.isArray(b)) return [path];
  const keyed = (x: object): Map<string, unknown> =>
    new Map(Array.isArray(x) ? x.map((v, i) => [String((v as { name?: string })?.name ?? i), v]) : Object.entries(x));
  const [ma, mb] = [keyed(a), keyed(b)];
  return [...new Set([...ma.keys(), ...mb.keys()])].flatMap((k) => differences(ma.get(k), mb.get(k), `${path}/${k}`));
}

const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

describe('the baseline and optimized overlays', () => {
  it('differ only in the control plane profile and the sidecars resources', () => {
    const baseline = new Map(render('overlays/baseline').map((o) => [id(o), o]));
    const optimized = new Map(render('overlays/optimized').map((o) => [id(o), o]));
    expect([...baseline.keys()].sort()).toEqual([...optimized.keys()].sort());
    const changed = [...baseline].flatMap(([key, o]) => differences(o, optimized.get(key)).map((p) => `${key}${p}`));
    const sidecarResources = new RegExp(
      `^Deployment/(${SHOP_SERVICES.join('|')})/spec/template/spec/initContainers/sidecar/resources/limits/(cpu|memory)$`,
    );
    const profile = 'Deployment/control-plane/spec/template/spec/containers/control-plane/env/MESH_PROFILE/value';
    expect(changed.filter((p) => p !== profile && !sidecarResources.test(p))).toEqual([]);
    expect(changed).toContain(profile);
    expect(changed.filter((p) => sidecarResources.test(p))).toHaveLength(2 * SHOP_SERVICES.length);
  });

  it('run the profile each is named after, the optimized sidecars sized as the case (100m/128Mi, 500m/512Mi)', () => {
    for (const overlay of ['baseline', 'optimized']) {
      const objects = render(`overlays/${overlay}`);
      const cp = objects.find((o) => id(o) === 'Deployment/control-plane')!;
      const env = cp.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'MESH_PROFILE');
      expect(env.value).toBe(overlay);
    }
    for (const d of render('overlays/optimized').filter((o) => o.kind === 'Deployment' && o.spec.template.spec.initContainers?.length)) {
      expect(d.spec.template.spec.initContainers[0].resources).toEqual({
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: '500m', memory: '512Mi' },
      });
    }
  });
});
