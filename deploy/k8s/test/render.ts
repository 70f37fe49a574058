// Renders MeshCart's kustomizations with `kubectl kustomize` and validates each object with kubernetes-models.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parseAllDocuments } from 'yaml';
import { loadTopology } from '@meshcart/topology';

export const K8S_DIR = new URL('..', import.meta.url).pathname;
export const COMPONENTS = ['network-policies', 'observability', 'proxyless', 'injection'] as const;
/** Kinds that belong to no namespace. */
export const CLUSTER_SCOPED = new Set(['Namespace', 'MutatingWebhookConfiguration']);
export const OVERLAYS = ['baseline', 'optimized'] as const;
/** The shop's services, as deploy/topology.yaml declares them (a fork's generated services among them). */
export const SHOP_SERVICES = Object.keys(loadTopology(join(K8S_DIR, '../topology.yaml')).services);

// Loose on purpose: tests read the fields they check and fail on anything missing.
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  webhooks?: any[];
};

/** The schema (model class) of every kind MeshCart renders; an unknown kind fails validation. */
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
};

/** Throws naming the object and every schema error. */
export function validateObject(obj: K8sObject): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) throw new Error(`${obj.kind} ${obj.metadata.name}: no schema for ${obj.apiVersion} ${obj.kind}; add its model to test/render.ts`);
  try {
    new Model(obj as never).validate();
  } catch (err) {
    throw new Error(`${obj.kind} ${obj.metadata.name}: ${(err as Error).message}`);
  }
}

function kubectl(args: string[]): string {
  const run = spawnSync('kubectl', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'kubectl is not installed or not on PATH: these tests render the manifests with `kubectl kustomize` (kubectl 1.27 or later, kustomize built in); install kubectl and run them again',
    );
  }
  if (run.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${run.stderr}`);
  return run.stdout;
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const cache = new Map<string, K8sObject[]>();

/** `kubectl kustomize` of a folder under deploy/k8s (e.g. "overlays/optimized"). */
export function render(path: string): K8sObject[] {
  if (!cache.has(path)) cache.set(path, parseObjects(kubectl(['kustomize', join(K8S_DIR, path)])));
  return cache.get(path)!;
}

/** The base with the given components, through a throwaway kustomization (kustomize wants relative paths). */
export function renderWithComponents(components: readonly string[]): K8sObject[] {
  const key = `base+${components.join('+')}`;
  if (!cache.has(key)) {
    cache.set(
      key,
      renderKustomization((rel) => ({ resources: [rel('base')], components: components.map((c) => rel(`components/${c}`)) })),
    );
  }
  return cache.get(key)!;
}

/**
 * A throwaway kustomization, e.g. an overlay of a user's: `fields(rel)` gives its fields, `rel`
 * turning a folder under deploy/k8s into the relative path kustomize wants.
 */
export function renderKustomization(fields: (rel: (path: string) => string) => Record<string, unknown>): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'meshcart-k8s-'));
  try {
    const rel = (p: string) => relative(dir, join(K8S_DIR, p));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...fields(rel) }),
    );
    return parseObjects(kubectl(['kustomize', dir]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every render a cluster user can apply or compose: the overlays, and the base with each component and all of them. */
export function allRenders(): [string, K8sObject[]][] {
  return [
    ['base', render('base')],
    ...OVERLAYS.map((o): [string, K8sObject[]] => [`overlays/${o}`, render(`overlays/${o}`)]),
    ...COMPONENTS.map((c): [string, K8sObject[]] => [`base + ${c}`, renderWithComponents([c])]),
    ['base + all components', renderWithComponents(COMPONENTS)],
  ];
}

export const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the render`);
  return o;
};
