// deploy/mesh/*.yaml (and their Kubernetes copies): the service's entry, the gateway's route to
// /api/<name>, and authorization rules for exactly the calls the topology declares.
import type { Tree } from '@nx/devkit';
import { k8sMeshConfig, PROFILES } from '@meshcart/topology';
import { appendToBlock } from './text-blocks';
import { edit, type Wiring } from './context';

export const MESH_DIR = 'deploy/mesh';
export const K8S_MESH_CONFIG_DIR = 'deploy/k8s/base/mesh-config';

/** The example's calls: what the generated app asks of each service it calls (product-service: one product). */
const EXAMPLE_CALLS: Record<string, { methods: string[]; paths: string[] }> = {
  'product-service': { methods: ['GET'], paths: ['/products/*'] },
};

export function exampleCallRule(service: string) {
  return EXAMPLE_CALLS[service];
}

export function addToMeshProfiles(tree: Tree, w: Wiring): void {
  const s = w.n.service;
  const p = w.n.path;
  const rules = [
    `      - to: ${s}`,
    `        from: [gateway]`,
    `        methods: [GET, POST]`,
    `        paths: [${p}, ${p}/*]`,
    ...w.calls.flatMap((callee) => {
      const call = EXAMPLE_CALLS[callee]!;
      return [
        `      - to: ${callee}`,
        `        from: [${s}]`,
        `        methods: [${call.methods.join(', ')}]`,
        `        paths: [${call.paths.join(', ')}]`,
      ];
    }),
  ];
  const route = [
    `      - name: ${w.n.name}`,
    `        match: { pathPrefix: ${w.n.publicPath}, methods: [GET, POST] }`,
    `        service: ${s}`,
    `        rewritePrefix: ${p}`,
  ];
  const profiles = tree.children(MESH_DIR).filter((f) => f.endsWith('.yaml'));
  for (const f of profiles) {
    const file = `${MESH_DIR}/${f}`;
    edit(tree, file, (text) => {
      // A profile without authorization rules allows every call; one with rules gets exactly the topology's.
      let t = /^ {2}authorization:$/m.test(text) ? appendToBlock(file, text, /^ {4}rules:$/, rules, /^ {2}authorization:$/) : text;
      t = appendToBlock(file, t, /^ {2}services:/, [`    ${s}: {}`]);
      return appendToBlock(file, t, /^ {4}routes:$/, route, /^ {2}edge:$/);
    });
  }
  // Kustomize reads nothing outside deploy/k8s: the ConfigMap's copies (`npx nx run k8s:mesh-config`).
  for (const profile of PROFILES) {
    const source = tree.read(`${MESH_DIR}/${profile}.yaml`, 'utf-8');
    if (source !== null) tree.write(`${K8S_MESH_CONFIG_DIR}/${profile}.yaml`, k8sMeshConfig(source, profile));
  }
}
