// Renders the Kubernetes base as deploy/k8s/test/render.ts does (`kubectl kustomize`), with each object's source file, so a drift report can say which file to edit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

// Loose on purpose: the check reads the fields it compares and reports anything missing.
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  /** The file under `root` the object came from (kustomize's origin annotation), e.g. deploy/k8s/base/user-service.yaml. */
  source?: string;
};

const ORIGIN = 'config.kubernetes.io/origin';

function kubectl(args: string[]): string {
  const run = spawnSync('kubectl', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'kubectl is not installed or not on PATH: these checks render the manifests with `kubectl kustomize` (kubectl 1.27 or later, kustomize built in); install kubectl and run them again',
    );
  }
  if (run.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${run.stderr}`);
  return run.stdout;
}

/**
 * `kubectl kustomize` of `<root>/deploy/k8s/base` with the given components (folders under
 * deploy/k8s/components), through a throwaway kustomization that asks for origin annotations;
 * `root` is the repository, or a copy of its deploy/k8s folder.
 */
export function renderBase(root: string, components: readonly string[] = []): K8sObject[] {
  const k8s = join(root, 'deploy/k8s');
  const dir = mkdtempSync(join(tmpdir(), 'meshcart-topology-k8s-'));
  try {
    const rel = (p: string) => relative(dir, join(k8s, p));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: [rel('base')],
        components: components.map((c) => rel(`components/${c}`)),
        buildMetadata: ['originAnnotations'],
      }),
    );
    return parseAllDocuments(kubectl(['kustomize', dir]))
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null)
      .map((o) => {
        const origin = o.metadata.annotations?.[ORIGIN];
        const path = origin ? /^path:\s*(.+)$/m.exec(origin)?.[1]?.trim() : undefined;
        if (origin) delete o.metadata.annotations![ORIGIN];
        return path ? { ...o, source: relative(root, resolve(dir, path)) } : o;
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
