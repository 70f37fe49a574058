import { describe, expect, it } from 'vitest';
import { allRenders, byKind, render, SHOP_SERVICES, type K8sObject } from './render';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Container = any;

const containersOf = (d: K8sObject): Container[] => [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers];

/** The port a probe asks: httpGet's port, or for an exec probe the URL in its command, else the container's PORT. */
function probePort(c: Container, probe: Container): string | number {
  if (probe.httpGet) return probe.httpGet.port;
  if (probe.tcpSocket) return probe.tcpSocket.port;
  const url = (probe.exec?.command as string[] | undefined)?.join(' ').match(/https?:\/\/[^:/\s]+:(\d+)/);
  if (url) return Number(url[1]);
  const port = c.env?.find((e: { name: string }) => e.name === 'PORT')?.value;
  if (!port) throw new Error(`${c.name}: exec probe with no URL and no PORT`);
  return Number(port);
}

const declares = (c: Container, port: string | number) =>
  (c.ports ?? []).some((p: { name?: string; containerPort: number }) => p.name === port || p.containerPort === port);

describe('every workload is probed, limited and hardened', () => {
  for (const [name, objects] of allRenders()) {
    for (const d of byKind(objects, 'Deployment')) {
      const pod = d.spec.template.spec;
      describe(`${name}: ${d.metadata.name}`, () => {
        it('every container (init containers included) has startup, readiness and liveness probes on ports it declares', () => {
          for (const c of containersOf(d)) {
            for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
              expect(c[kind], `${c.name}.${kind}`).toBeDefined();
              const port = probePort(c, c[kind]);
              expect(declares(c, port), `${c.name}.${kind} asks port ${port}, which ${c.name} does not declare`).toBe(true);
            }
          }
        });

        it('every container has cpu and memory requests and limits, requests within limits', () => {
          const bytes = (q: string) => Number(q.replace(/Mi$/, '')) * 2 ** 20 || Number(q.replace(/Gi$/, '')) * 2 ** 30;
          const cores = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
          for (const c of containersOf(d)) {
            const { requests, limits } = c.resources ?? {};
            for (const r of ['cpu', 'memory']) {
              expect(requests?.[r], `${c.name} requests.${r}`).toBeDefined();
              expect(limits?.[r], `${c.name} limits.${r}`).toBeDefined();
            }
            expect(cores(requests.cpu)).toBeLessThanOrEqual(cores(limits.cpu));
            expect(bytes(requests.memory)).toBeLessThanOrEqual(bytes(limits.memory));
          }
        });

        if (d.metadata.labels?.['app.kubernetes.io/component'] === 'service') {
          it('leaves the mesh before the app stops: a preStop drain of its proxy, within the grace period', () => {
            const app = pod.containers.find((c: Container) => c.name === d.metadata.name);
            expect(app.lifecycle?.preStop?.exec?.command).toEqual(['node', '/app/dist/meshcart.js', 'drain']);
            // The drain reaches the proxy on loopback port 15000: the sidecar's admin port, or the in-process mesh's (proxyless).
            const admin = containersOf(d).find((c: Container) =>
              (c.ports ?? []).some((p: { name: string; containerPort: number }) => p.name === 'admin' && p.containerPort === 15000),
            );
            expect(admin, 'a container of the pod declares admin port 15000').toBeDefined();
            // MESH_DRAIN_SECONDS (5 by default) and the app's own shutdown fit in the grace period.
            expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(15);
          });
        }

        it('every container runs as uid 1000, non-root, read-only, no capabilities, no escalation, RuntimeDefault seccomp', () => {
          expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
          expect(pod.automountServiceAccountToken).toBe(false);
          for (const c of containersOf(d)) {
            expect(c.securityContext, c.name).toMatchObject({
              runAsNonRoot: true,
              runAsUser: 1000,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            });
            expect(c.securityContext.privileged ?? false).toBe(false);
            expect(c.securityContext.capabilities.add ?? []).toEqual([]);
          }
        });

        it('where a read-only container writes (/data, /tmp), an emptyDir is mounted', () => {
          const emptyDirs = new Set((pod.volumes ?? []).filter((v: Container) => v.emptyDir).map((v: Container) => v.name));
          for (const c of containersOf(d)) {
            for (const path of ['/data', '/tmp']) {
              const mount = c.volumeMounts?.find((m: Container) => m.mountPath === path);
              expect(mount, `${c.name} mounts ${path}`).toBeDefined();
              expect(emptyDirs.has(mount.name), `${c.name}'s ${path} is an emptyDir`).toBe(true);
            }
          }
        });

        it('spreads its pods across nodes and zones', () => {
          const keys = (pod.topologySpreadConstraints ?? []).map((t: Container) => t.topologyKey);
          expect(keys).toEqual(expect.arrayContaining(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']));
          for (const t of pod.topologySpreadConstraints) expect(t.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
        });

        it('has a PodDisruptionBudget that selects it and still lets a node drain', () => {
          const pdbs = byKind(objects, 'PodDisruptionBudget').filter(
            (p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(d.spec.selector.matchLabels),
          );
          expect(pdbs).toHaveLength(1);
          const replicas =
            d.spec.replicas ??
            byKind(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === d.metadata.name)?.spec.minReplicas ??
            1;
          const pdb = pdbs[0]!.spec;
          if (pdb.minAvailable !== undefined) expect(pdb.minAvailable).toBeLessThan(replicas);
          else expect(pdb.maxUnavailable).toBeGreaterThanOrEqual(1);
        });
      });
    }

    it(`${name}: sidecars are native sidecars (init containers that restart always), beside an app that never listens on the network`, () => {
      for (const d of byKind(objects, 'Deployment').filter((x) => x.spec.template.metadata.labels['meshcart.io/proxy'] === 'sidecar')) {
        const [sidecar, ...others] = d.spec.template.spec.initContainers ?? [];
        expect(others).toEqual([]);
        expect(sidecar).toMatchObject({ name: 'sidecar', restartPolicy: 'Always', args: ['sidecar'] });
        const env = (c: Container) => Object.fromEntries(c.env.map((e: Container) => [e.name, e.value ?? e.valueFrom]));
        const app = env(d.spec.template.spec.containers[0]);
        expect(app).toMatchObject({ HOST: '127.0.0.1', MESH_MODE: 'sidecar', MESH_OUTBOUND_URL: 'http://127.0.0.1:15001' });
        expect(env(sidecar)).toMatchObject({
          HOST: '127.0.0.1',
          INBOUND_HOST: '0.0.0.0',
          ADMIN_HOST: '0.0.0.0',
          MESH_SERVICE: d.metadata.name,
          APP_PORT: app.PORT,
        });
        expect(env(sidecar).ADVERTISE_HOST).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
      }
    });

    it(`${name}: every Service port targets a port its pods declare`, () => {
      for (const svc of byKind(objects, 'Service')) {
        const d = byKind(objects, 'Deployment').find((x) => JSON.stringify(x.spec.selector.matchLabels) === JSON.stringify(svc.spec.selector));
        expect(d, `a Deployment behind Service ${svc.metadata.name}`).toBeDefined();
        for (const port of svc.spec.ports) {
          expect(
            containersOf(d!).some((c) => declares(c, port.targetPort)),
            `${svc.metadata.name}:${port.name} → ${port.targetPort}`,
          ).toBe(true);
        }
      }
    });
  }

  it('only stateless workloads autoscale; services with a SQLite volume of their own run one replica', () => {
    const objects = render('overlays/optimized');
    const scaled = byKind(objects, 'HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name);
    expect(scaled).toEqual(['gateway']);
    for (const name of SHOP_SERVICES) {
      const d = byKind(objects, 'Deployment').find((x) => x.metadata.name === name)!;
      expect(d.spec.replicas, name).toBe(1);
    }
  });

  it('runs two control-plane replicas that find each other through a headless Service listing unready pods', () => {
    const objects = render('overlays/optimized');
    const d = byKind(objects, 'Deployment').find((x) => x.metadata.name === 'control-plane')!;
    expect(d.spec.replicas).toBe(2);
    const peers = byKind(objects, 'Service').find((s) => s.metadata.name === 'control-plane-peers')!;
    expect(peers.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: d.spec.selector.matchLabels });
    const env = Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    const [host, port] = (env['MESH_PEERS_DNS'] as string).split(':');
    expect(host).toBe('control-plane-peers');
    expect(peers.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(port));
    // The overlay's network policies let the replicas reach each other on that port.
    const policy = byKind(objects, 'NetworkPolicy').find((p) => p.metadata.name === 'control-plane-peers')!;
    expect(policy.spec.ingress[0].ports[0].port).toBe(Number(port));
    expect(policy.spec.egress[0].to[0].podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
  });
});
