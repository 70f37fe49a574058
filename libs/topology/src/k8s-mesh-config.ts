// The mesh profiles as the Kubernetes ConfigMap carries them (deploy/k8s/base/mesh-config): deploy/mesh's, with spec.namespace set to the cluster namespace.

/** The namespace every base object lives in (base/kustomization.yaml). */
export const K8S_NAMESPACE = 'meshcart';
export const PROFILES = ['baseline', 'optimized'] as const;

/**
 * Workload certificates name the namespace (spiffe://<trustDomain>/ns/<namespace>/sa/<service>),
 * so on Kubernetes it must be the pods' namespace; everything else is the file as written.
 */
export function k8sMeshConfig(source: string, profile: string, namespace = K8S_NAMESPACE): string {
  const line = /^ {2}namespace: [a-z0-9-]+$/m;
  const found = source.match(new RegExp(line.source, 'gm')) ?? [];
  if (found.length !== 1) throw new Error(`deploy/mesh/${profile}.yaml: expected one "  namespace: <name>" line under spec, found ${found.length}`);
  const header = `# Generated from deploy/mesh/${profile}.yaml by \`npx nx run k8s:mesh-config\`, with spec.namespace set to\n# the Kubernetes namespace. Edit deploy/mesh/${profile}.yaml, then regenerate.\n`;
  return header + source.replace(line, `  namespace: ${namespace}`);
}
