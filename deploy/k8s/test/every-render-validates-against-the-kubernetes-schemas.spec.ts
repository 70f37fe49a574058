import { describe, expect, it } from 'vitest';
import { allRenders, byKind, CLUSTER_SCOPED, render, validateObject } from './render';

describe('every overlay and component renders with kubectl kustomize', () => {
  for (const [name, objects] of allRenders()) {
    it(`${name}: every object validates against its Kubernetes schema`, () => {
      expect(objects.length).toBeGreaterThan(0);
      const errors: string[] = [];
      for (const obj of objects) {
        try {
          validateObject(obj);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      expect(errors).toEqual([]);
    });

    it(`${name}: every namespaced object is in the meshcart namespace`, () => {
      const stray = objects
        .filter((o) => !CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace !== 'meshcart')
        .map((o) => `${o.kind}/${o.metadata.name}`);
      expect(stray).toEqual([]);
    });
  }

  it('the validator rejects a malformed object (a probe port that is not a port)', () => {
    const deployment = structuredClone(byKind(render('base'), 'Deployment')[0]!);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'not-a-number';
    expect(() => validateObject(deployment)).toThrow(/containerPort/);
  });

  it('the overlays include the network policies and the PodMonitor', () => {
    for (const overlay of ['overlays/baseline', 'overlays/optimized']) {
      const objects = render(overlay);
      expect(byKind(objects, 'NetworkPolicy').map((p) => p.metadata.name)).toContain('default-deny');
      expect(byKind(objects, 'PodMonitor')).toHaveLength(1);
    }
  });
});
