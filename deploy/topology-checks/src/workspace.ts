// What every drift check shares: where the real files are, which of MeshCart's parts are the mesh's own rather than shop services, and labels as the proxies read them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLabels } from '@meshcart/service-kit';
import { loadTopology, type Topology } from '@meshcart/topology';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TOPOLOGY_FILE = 'deploy/topology.yaml';

export const repoPath = (relative: string) => join(REPO_ROOT, relative);
export const readRepoFile = (relative: string) => readFileSync(repoPath(relative), 'utf8');
export const realTopology = (): Topology => loadTopology(repoPath(TOPOLOGY_FILE));

/**
 * Image roles (compose commands, Kubernetes container args) that are the mesh's own, not shop
 * services: a container running anything else runs a service, which the topology must declare.
 */
export const PLATFORM_ROLES: ReadonlySet<string> = new Set(['control-plane', 'gateway', 'sidecar', 'meshctl', 'load']);

/** Nx projects under apps/ that are the mesh's own; every other app is a shop service. */
export const PLATFORM_APPS: ReadonlySet<string> = new Set(['control-plane', 'dashboard', 'gateway', 'local-mesh', 'meshctl', 'sidecar']);

/** Labels as MESH_LABELS spells them (`version=v2,zone=a`), in the topology's order. */
export const formatLabels = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** MESH_LABELS read by the proxies' own parser; undefined when it is not a label list. */
export function parseLabelList(raw: string): Record<string, string> | undefined {
  try {
    return parseLabels(raw);
  } catch {
    return undefined;
  }
}

export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** The distinct label sets of a service's instances: more than one means the mesh routes on them (a canary). */
export function labelSetsOf(topology: Topology, service: string): Record<string, string>[] {
  const sets: Record<string, string>[] = [];
  for (const i of topology.services[service]?.instances ?? []) if (!sets.some((s) => sameLabels(s, i.labels))) sets.push(i.labels);
  return sets;
}

/** Fails with every problem on a line of its own, so a drift report reads as a to-do list. */
/** The commands that write what the checks look for, rather than editing each file by hand. */
export const FIXES = [
  'How to fix it:',
  '  - a service that is not there yet: take it out of the topology and run `npm run new-service -- <name>`, which declares it and writes every file above (docs/adding-a-service.md);',
  '  - deploy/k8s/base/mesh-config/*.yaml out of step with deploy/mesh: `npx nx run k8s:mesh-config`;',
  '  - anything else: edit the file as the line says, or the topology if the file is right.',
].join('\n');

export function expectNoDrift(problems: string[]): void {
  if (problems.length)
    throw new Error(`${problems.length} thing(s) out of step with ${TOPOLOGY_FILE}:\n${problems.map((p) => `  - ${p}`).join('\n')}\n${FIXES}`);
}
