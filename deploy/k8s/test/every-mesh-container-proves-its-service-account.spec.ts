// Workload identity on Kubernetes: every proxy proves which ServiceAccount its pod runs as with a
// projected token for the control plane's audience, and nothing holds a shared bootstrap token.
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allRenders, byKind, find, render, renderKustomization, type K8sObject } from './render';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Container = any;

const docs = readFileSync(new URL('../../../docs/kubernetes.md', import.meta.url), 'utf8');
const meshConfig = parse(readFileSync(new URL('../base/mesh-config/optimized.yaml', import.meta.url), 'utf8')) as {
  spec: { trustDomain: string; namespace: string };
};

const containersOf = (d: K8sObject): Container[] => [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers];
const envOf = (c: Container): Record<string, Container> => Object.fromEntries((c.env ?? []).map((e: Container) => [e.name, e.value ?? e.valueFrom]));

/** The containers that run a proxy and so ask the control plane for a certificate: sidecars, the gateway, proxyless apps. */
const isMesh = (c: Container) => ['sidecar', 'gateway'].includes(c.args?.[0]) || envOf(c)['MESH_MODE'] === 'proxyless';

/** The service a mesh container's certificate is for: a sidecar's MESH_SERVICE, else the role it runs. */
const serviceOf = (c: Container): string => envOf(c)['MESH_SERVICE'] ?? c.args[0];

const controlPlaneEnv = (objects: K8sObject[]) => envOf(find(objects, 'Deployment', 'control-plane').spec.template.spec.containers[0]);

describe('every mesh container proves its ServiceAccount with a projected token', () => {
  for (const [name, objects] of allRenders()) {
    const audience = controlPlaneEnv(objects)['MESH_K8S_TOKEN_AUDIENCE'] ?? 'meshcart';
    for (const d of byKind(objects, 'Deployment').filter((x) => x.spec.template.metadata.labels['meshcart.io/proxy'])) {
      const pod = d.spec.template.spec;
      describe(`${name}: ${d.metadata.name}`, () => {
        const mesh = containersOf(d).filter(isMesh);

        it('has one mesh container, reading a token the kubelet projects for the control plane audience, short-lived', () => {
          expect(
            mesh.map((c) => c.name),
            'one proxy per pod',
          ).toHaveLength(1);
          const c = mesh[0];
          const file = envOf(c)['MESH_JOIN_TOKEN_FILE'];
          expect(file, `${c.name} has MESH_JOIN_TOKEN_FILE`).toMatch(/^\/.+\/[^/]+$/);
          const mount = c.volumeMounts.find((m: Container) => m.mountPath === dirname(file));
          expect(mount, `${c.name} mounts ${dirname(file)}`).toBeDefined();
          expect(mount.readOnly).toBe(true);
          const volume = pod.volumes.find((v: Container) => v.name === mount.name);
          // Only the token in that folder: no CA, no namespace file, nothing else to read.
          expect(volume.projected?.sources).toEqual([
            { serviceAccountToken: { audience, expirationSeconds: expect.any(Number), path: basename(file) } },
          ]);
          const seconds = volume.projected.sources[0].serviceAccountToken.expirationSeconds;
          // Kubernetes' shortest is 600 s; an hour at most, so a token taken from a pod is soon worthless.
          expect(seconds).toBeGreaterThanOrEqual(600);
          expect(seconds).toBeLessThanOrEqual(3600);
        });

        it("runs as the ServiceAccount named after its service: the SPIFFE ID's sa part", () => {
          const service = serviceOf(mesh[0]);
          expect(pod.serviceAccountName).toBe(service);
          expect(pod.automountServiceAccountToken).toBe(false);
          if (objects.some((o) => o.kind === 'ServiceAccount')) {
            const sa = find(objects, 'ServiceAccount', service);
            expect(sa.metadata.annotations?.['meshcart.io/spiffe-id']).toBe(
              `spiffe://${meshConfig.spec.trustDomain}/ns/${d.metadata.namespace}/sa/${service}`,
            );
          }
        });

        it('gives the token to the mesh container alone: the app beside a sidecar cannot read it', () => {
          const tokenVolumes = new Set(pod.volumes.filter((v: Container) => v.projected).map((v: Container) => v.name));
          for (const c of containersOf(d).filter((x) => !isMesh(x))) {
            expect(
              (c.volumeMounts ?? []).filter((m: Container) => tokenVolumes.has(m.name)),
              c.name,
            ).toEqual([]);
            expect(envOf(c)['MESH_JOIN_TOKEN_FILE'], c.name).toBeUndefined();
          }
        });
      });
    }

    it(`${name}: no container references a bootstrap token or a shared demo token`, () => {
      for (const d of byKind(objects, 'Deployment')) {
        for (const c of containersOf(d)) {
          const names = (c.env ?? []).map((e: Container) => e.name);
          expect(names, `${d.metadata.name}/${c.name}`).not.toContain('MESH_BOOTSTRAP_TOKEN');
          const secrets = [
            ...(c.env ?? []).map((e: Container) => e.valueFrom?.secretKeyRef?.name),
            ...(c.envFrom ?? []).map((e: Container) => e.secretRef?.name),
          ].filter(Boolean);
          expect(secrets.filter((s: string) => /bootstrap/i.test(s))).toEqual([]);
        }
        const volumeSecrets = (d.spec.template.spec.volumes ?? []).map((v: Container) => v.secret?.secretName).filter(Boolean);
        expect(volumeSecrets.filter((s: string) => /bootstrap/i.test(s))).toEqual([]);
      }
      expect(JSON.stringify(objects)).not.toMatch(/bootstrap-token|BOOTSTRAP_TOKEN/);
    });
  }

  it("the control plane verifies against the cluster's issuer, fetched with its own token and the cluster CA", () => {
    for (const overlay of ['overlays/baseline', 'overlays/optimized']) {
      const objects = render(overlay);
      const d = find(objects, 'Deployment', 'control-plane');
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      const env = envOf(c);
      expect(env['MESH_K8S_TOKEN_ISSUER']).toBe('https://kubernetes.default.svc.cluster.local');
      expect(env['MESH_K8S_TOKEN_AUDIENCE']).toBe('meshcart');
      // Both files in one mounted projected volume: a token for the API server (no audience: its
      // own) and the cluster CA that every namespace gets as the kube-root-ca.crt ConfigMap.
      const dir = dirname(env['MESH_K8S_BEARER_FILE']);
      expect(dirname(env['MESH_K8S_CA_FILE'])).toBe(dir);
      const mount = c.volumeMounts.find((m: Container) => m.mountPath === dir);
      expect(mount?.readOnly).toBe(true);
      const sources = pod.volumes.find((v: Container) => v.name === mount.name).projected.sources;
      expect(sources).toEqual([
        { serviceAccountToken: { expirationSeconds: expect.any(Number), path: basename(env['MESH_K8S_BEARER_FILE']) } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: basename(env['MESH_K8S_CA_FILE']) }] } },
      ]);
      expect(pod.automountServiceAccountToken).toBe(false);
      // Nothing more than the default discovery rights: MeshCart grants no RBAC.
      expect(objects.filter((o) => /Role(Binding)?$/.test(o.kind))).toEqual([]);
      // And the default-deny policies let it reach the API server.
      const egress = byKind(objects, 'NetworkPolicy').find((p) => p.metadata.name === 'control-plane-to-api-server')!;
      expect(egress.spec.podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
      expect(egress.spec.policyTypes).toEqual(['Egress']);
      expect(egress.spec.egress[0].ports).toEqual([
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ]);
    }
  });

  it("docs/kubernetes.md's overlay patch for another issuer changes the control plane's issuer and nothing else", () => {
    const start = docs.indexOf("Check the cluster's service-account issuer");
    const block = /```yaml\n([\s\S]*?)```/.exec(docs.slice(start))![1]!.replace(/^ {3}/gm, '');
    const { patches } = parse(block) as { patches: unknown[] };
    const objects = renderKustomization((rel) => ({ resources: [rel('overlays/optimized')], patches }));
    const env = controlPlaneEnv(objects);
    expect(env['MESH_K8S_TOKEN_ISSUER']).toBe('https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE');
    const stock = render('overlays/optimized');
    const { MESH_K8S_TOKEN_ISSUER: _patched, ...rest } = env;
    const { MESH_K8S_TOKEN_ISSUER: _stock, ...stockRest } = controlPlaneEnv(stock);
    expect(rest).toEqual(stockRest);
    expect(objects.length).toBe(stock.length);
  });

  it('docs/kubernetes.md names the issuer the manifests set, how to find yours, and no bootstrap token', () => {
    const env = controlPlaneEnv(render('overlays/optimized'));
    expect(docs).toContain(env['MESH_K8S_TOKEN_ISSUER']);
    expect(docs).toContain('kubectl get --raw /.well-known/openid-configuration');
    expect(docs).toContain('MESH_K8S_TOKEN_ISSUER');
    expect(docs).not.toMatch(/bootstrap-token|BOOTSTRAP_TOKEN/);
  });
});
