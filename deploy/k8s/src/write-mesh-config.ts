// Writes base/mesh-config/<profile>.yaml from deploy/mesh (the ConfigMap's sources): `npx nx run k8s:mesh-config`.
import { readFileSync, writeFileSync } from 'node:fs';
import { k8sMeshConfig, PROFILES } from '@meshcart/topology';

const root = new URL('../../../', import.meta.url);
for (const profile of PROFILES) {
  const source = readFileSync(new URL(`deploy/mesh/${profile}.yaml`, root), 'utf8');
  const target = new URL(`deploy/k8s/base/mesh-config/${profile}.yaml`, root);
  writeFileSync(target, k8sMeshConfig(source, profile));
  console.log(`wrote ${target.pathname}`);
}
