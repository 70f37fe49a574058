// The proxyless component: each app serves the mesh's mTLS inbound itself, on the port named `mesh`, which the
// Service, the network policies and the control plane's registration all mean by the same number.
import { describe, expect, it } from 'vitest';
import { byKind, find, renderWithComponents, SHOP_SERVICES } from './render';

const objects = renderWithComponents(['network-policies', 'proxyless']);
const services = SHOP_SERVICES;

describe('proxyless services', () => {
  for (const name of services) {
    it(`${name}: registers the mesh port its pod and Service expose (MESH_INBOUND_PORT), and keeps its own port for probes`, () => {
      const pod = find(objects, 'Deployment', name).spec.template.spec;
      expect(pod.initContainers ?? [], 'no sidecar').toEqual([]);
      const app = pod.containers[0];
      const env = Object.fromEntries(app.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
      const ports = Object.fromEntries(app.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
      expect(env['MESH_MODE']).toBe('proxyless');
      expect(Number(env['MESH_INBOUND_PORT'])).toBe(ports['mesh']);
      // The app's own port is another one: under STRICT it answers probes only.
      expect(Number(env['PORT'])).not.toBe(ports['mesh']);
      const svc = find(objects, 'Service', name);
      expect(svc.spec.ports.map((p: { name: string; targetPort: string }) => [p.name, p.targetPort])).toEqual([['mesh', 'mesh']]);
    });
  }

  it('are reachable from other proxies on the port named mesh only', () => {
    const inbound = byKind(objects, 'NetworkPolicy').find((p) => p.metadata.name === 'mesh-inbound')!;
    const ports = inbound.spec.ingress.flatMap((r: { ports: { port: string }[] }) => r.ports.map((p) => p.port));
    expect(ports).toContain('mesh');
    expect(ports).not.toContain('app');
  });
});
