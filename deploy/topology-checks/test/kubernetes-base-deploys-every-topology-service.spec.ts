import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addCanary, addInstance, addProbeService, beyond, edit } from '../src/drift-fixtures';
import { checkKubernetes } from '../src/kubernetes-check';
import { renderBase } from '../src/kubernetes-render';
import { expectNoDrift, REPO_ROOT, realTopology, repoPath } from '../src/workspace';

const topology = realTopology();
const real = { base: renderBase(REPO_ROOT), proxyless: renderBase(REPO_ROOT, ['proxyless']) };
/** A broken copy's problems, less the real files'. */
const check = (t: typeof topology, renders: typeof real) => beyond(checkKubernetes(topology, real))(checkKubernetes(t, renders));

const copies: string[] = [];
afterEach(() => copies.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Renders a copy of deploy/k8s with `edits` applied (path under the copy → change to its text): the real files stay as they are. */
function renderBroken(edits: Record<string, (text: string) => string>) {
  const root = mkdtempSync(join(tmpdir(), 'meshcart-drift-'));
  copies.push(root);
  cpSync(repoPath('deploy/k8s/base'), join(root, 'deploy/k8s/base'), { recursive: true });
  cpSync(repoPath('deploy/k8s/components'), join(root, 'deploy/k8s/components'), { recursive: true });
  for (const [path, change] of Object.entries(edits)) {
    let text = '';
    try {
      text = readFileSync(join(root, path), 'utf8');
    } catch {
      // A new file.
    }
    writeFileSync(join(root, path), change(text));
  }
  return { base: renderBase(root), proxyless: renderBase(root, ['proxyless']) };
}

describe('the Kubernetes base against deploy/topology.yaml', () => {
  it('deploys every topology service at its port, with its Service and ServiceAccount, and no undeclared service', () => {
    expectNoDrift(checkKubernetes(topology, real));
  });

  it('knows which file each object comes from', () => {
    expect(real.base.find((o) => o.kind === 'Deployment' && o.metadata.name === 'order-service')?.source).toBe('deploy/k8s/base/order-service.yaml');
  });

  describe('names what is out of step in a broken copy', () => {
    it("the sidecar's APP_PORT", () => {
      const broken = renderBroken({
        'deploy/k8s/base/product-service.yaml': (t) => edit(t, '{ name: APP_PORT, value: "3002" }', '{ name: APP_PORT, value: "3012" }'),
      });
      expect(check(topology, broken)).toEqual([
        'deploy/k8s/base/product-service.yaml: Deployment product-service container sidecar has APP_PORT=3012; deploy/topology.yaml gives product-service port 3002 (edit one to match the other)',
      ]);
    });

    it("the app's port everywhere the manifest names it", () => {
      const broken = renderBroken({ 'deploy/k8s/base/user-service.yaml': (t) => t.replaceAll('3001', '3011') });
      expect(check(topology, broken)).toEqual([
        'deploy/k8s/base/user-service.yaml: Deployment user-service container user-service has containerPort 3011 (app); deploy/topology.yaml gives user-service port 3001 (edit one to match the other)',
        'deploy/k8s/base/user-service.yaml: Deployment user-service container user-service has PORT=3011; deploy/topology.yaml gives user-service port 3001 (edit one to match the other)',
        "deploy/k8s/base/user-service.yaml: Deployment user-service container user-service's livenessProbe asks port 3011; deploy/topology.yaml gives user-service port 3001 (edit one to match the other)",
        'deploy/k8s/base/user-service.yaml: Deployment user-service container sidecar has APP_PORT=3011; deploy/topology.yaml gives user-service port 3001 (edit one to match the other)',
      ]);
    });

    it("labels that are not the first instance's", () => {
      // The pod's version label is what its sidecar registers (MESH_LABELS from the downward API).
      const broken = renderBroken({
        'deploy/k8s/base/product-service.yaml': (t) => edit(t, '        version: v1\n', '        version: v2\n'),
      });
      expect(check(topology, broken)).toEqual([
        "deploy/k8s/base/product-service.yaml: Deployment product-service container sidecar has MESH_LABELS=version=v2; deploy/topology.yaml labels product-service's first instance (product-service-1) version=v1 (edit one to match the other)",
        "deploy/k8s/base/product-service.yaml: Deployment product-service's pods are labelled version=v2; deploy/topology.yaml labels product-service's instance version=v1 here (edit one to match the other)",
      ]);
    });

    it('a service left out of the proxyless component', () => {
      const broken = renderBroken({ 'deploy/k8s/components/proxyless/kustomization.yaml': (t) => edit(t, '  - path: payment-service.yaml\n', '') });
      expect(check(topology, broken)).toEqual([
        'deploy/k8s/components/proxyless: with the component, Deployment payment-service still runs payment-service beside a sidecar; add deploy/k8s/components/proxyless/payment-service.yaml (copy another patch there, renamed) and list it under patches in deploy/k8s/components/proxyless/kustomization.yaml',
      ]);
    });

    it('a Deployment of a service the topology does not declare', () => {
      const broken = renderBroken({
        'deploy/k8s/base/probe-service.yaml': () =>
          readFileSync(repoPath('deploy/k8s/base/user-service.yaml'), 'utf8').replaceAll('user-service', 'probe-service'),
        'deploy/k8s/base/kustomization.yaml': (t) => edit(t, '  - payment-service.yaml\n', '  - payment-service.yaml\n  - probe-service.yaml\n'),
      });
      expect(check(topology, broken)).toEqual([
        "deploy/k8s/base/probe-service.yaml: Deployment probe-service runs probe-service, which deploy/topology.yaml does not declare; declare it there, or remove the Deployment (its file's entry in deploy/k8s/base/kustomization.yaml, and its ServiceAccount)",
        "deploy/k8s/base/probe-service.yaml: Service probe-service is a shop service's, but deploy/topology.yaml declares no probe-service; declare it there or remove the Service",
      ]);
    });

    it('a canary declared in the topology only: not required on Kubernetes, where each version would need its own Deployment and catalog', () => {
      expect(check(addInstance(topology, 'user-service', 'user-service-v2-1', { version: 'v2' }), real)).toEqual([]);
      expect(check(addCanary(topology), real)).toEqual([]);
    });

    it('a new service declared in the topology only', () => {
      expect(check(addProbeService(topology), real)).toEqual([
        'deploy/k8s/base: no Deployment runs probe-service, which deploy/topology.yaml declares (port 3999); add deploy/k8s/base/probe-service.yaml (copy deploy/k8s/base/user-service.yaml: Deployment, Service and PodDisruptionBudget, renamed, with port 3999) and list it under resources in deploy/k8s/base/kustomization.yaml',
        'deploy/k8s/base: no Service probe-service, which deploy/topology.yaml declares; add one to deploy/k8s/base/probe-service.yaml (as in deploy/k8s/base/user-service.yaml)',
        'deploy/k8s/base/service-accounts.yaml: no ServiceAccount probe-service, the identity of probe-service in deploy/topology.yaml; add one (copy another, with meshcart.io/spiffe-id ending /sa/probe-service)',
      ]);
    });
  });
});
