import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { K8S_NAMESPACE, k8sMeshConfig, PROFILES } from '@meshcart/topology';
import { find, K8S_DIR, render } from './render';

const repo = new URL('../../../', import.meta.url);
const source = (profile: string) => readFileSync(new URL(`deploy/mesh/${profile}.yaml`, repo), 'utf8');

describe('the mesh-config ConfigMap', () => {
  for (const profile of PROFILES) {
    it(`carries deploy/mesh/${profile}.yaml as generated (run \`npx nx run k8s:mesh-config\` after editing it)`, () => {
      const committed = readFileSync(`${K8S_DIR}/base/mesh-config/${profile}.yaml`, 'utf8');
      expect(committed).toBe(k8sMeshConfig(source(profile), profile));
    });

    it(`${profile}: differs from deploy/mesh only in spec.namespace, which is the pods' namespace`, () => {
      const map = render('overlays/optimized').find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('mesh-config-'))!;
      const inMap = parse(map.data![`${profile}.yaml`]!);
      const original = parse(source(profile));
      expect(inMap.spec.namespace).toBe(K8S_NAMESPACE);
      expect({ ...inMap, spec: { ...inMap.spec, namespace: undefined } }).toEqual({ ...original, spec: { ...original.spec, namespace: undefined } });
    });
  }

  it('is what the control plane reads its profiles from', () => {
    const objects = render('overlays/optimized');
    const pod = find(objects, 'Deployment', 'control-plane').spec.template.spec;
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('mesh-config-'))!;
    const volume = pod.volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === map.metadata.name);
    expect(volume).toBeDefined();
    const container = pod.containers[0];
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume.name);
    const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env.MESH_CONFIG_DIR).toBe(mount.mountPath);
    expect(Object.keys(map.data!).sort()).toEqual(PROFILES.map((p) => `${p}.yaml`));
  });

  it('names the same SPIFFE identities as the ServiceAccounts, whose names are the services', () => {
    const objects = render('overlays/optimized');
    const config = parse(source('optimized'));
    for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) {
      expect(sa.metadata.annotations?.['meshcart.io/spiffe-id']).toBe(
        `spiffe://${config.spec.trustDomain}/ns/${sa.metadata.namespace}/sa/${sa.metadata.name}`,
      );
    }
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.template.spec.serviceAccountName).toBe(d.metadata.name);
    }
  });
});
