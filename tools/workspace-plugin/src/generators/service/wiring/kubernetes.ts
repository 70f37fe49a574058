// The Kubernetes base: a Deployment with its sidecar, a Service and a PodDisruptionBudget, its ServiceAccount
// (its SPIFFE identity), and the proxyless component's patch that moves the mesh into the app.
import { generateFiles, type Tree } from '@nx/devkit';
import { join } from 'node:path';
import { appendToBlock, insertAfterLast, WiringError } from './text-blocks';
import { edit, type Wiring } from './context';

export const K8S_BASE = 'deploy/k8s/base';
export const SERVICE_ACCOUNTS_FILE = `${K8S_BASE}/service-accounts.yaml`;
const PROXYLESS = 'deploy/k8s/components/proxyless';

export function addToKubernetes(tree: Tree, w: Wiring): void {
  const s = w.n.service;
  generateFiles(tree, join(__dirname, '..', 'files'), '.', { service: s, port: w.port, summary: w.summary, template: '' });

  edit(tree, SERVICE_ACCOUNTS_FILE, (text) => {
    const id = /spiffe:\/\/[^/\s]+\/ns\/[^/\s]+\/sa\//.exec(text);
    if (!id) throw new WiringError(SERVICE_ACCOUNTS_FILE, 'no meshcart.io/spiffe-id annotation to take the trust domain and namespace from');
    const account = [
      '---',
      'apiVersion: v1',
      'kind: ServiceAccount',
      'metadata:',
      `  name: ${s}`,
      '  annotations:',
      `    meshcart.io/spiffe-id: ${id[0]}${s}`,
      'automountServiceAccountToken: false',
    ];
    return `${text.replace(/\n*$/, '')}\n${account.join('\n')}\n`;
  });
  edit(tree, `${K8S_BASE}/kustomization.yaml`, (text) => appendToBlock(`${K8S_BASE}/kustomization.yaml`, text, /^resources:$/, [`  - ${s}.yaml`]));
  edit(tree, `${PROXYLESS}/kustomization.yaml`, (text) =>
    insertAfterLast(`${PROXYLESS}/kustomization.yaml`, text, /^ {2}- path: [a-z0-9-]+\.yaml$/, [`  - path: ${s}.yaml`]),
  );
}
