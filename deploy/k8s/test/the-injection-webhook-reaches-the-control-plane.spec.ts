import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { find, OVERLAYS, render } from './render';

const injectorSource = readFileSync(new URL('../../../apps/control-plane/src/injector-server.ts', import.meta.url), 'utf8');

describe.each(OVERLAYS)('overlays/%s: the sidecar injection webhook', (overlay) => {
  const objects = render(`overlays/${overlay}`);
  const webhook = find(objects, 'MutatingWebhookConfiguration', 'meshcart-sidecar-injector').webhooks![0];
  const service = find(objects, 'Service', 'control-plane');
  const container = find(objects, 'Deployment', 'control-plane').spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));

  it("calls the control plane's Service on a port that leads to the injector's listener", () => {
    const { name, namespace, port, path } = webhook.clientConfig.service;
    expect([name, namespace]).toEqual([service.metadata.name, service.metadata.namespace]);
    const servicePort = service.spec.ports.find((p: { port: number }) => p.port === port);
    const containerPort = container.ports.find((p: { name: string }) => p.name === servicePort.targetPort);
    expect(containerPort.containerPort).toBe(Number(env['INJECTOR_PORT']));
    expect(injectorSource).toContain(`app.post('${path}'`);
  });

  it('sees only new pods, lets them start when the control plane is away, and has no side effects', () => {
    expect(webhook.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.sideEffects).toBe('None');
    expect(webhook.namespaceSelector).toEqual({ matchLabels: { 'meshcart.io/injection': 'enabled' } });
  });

  it("injects the control plane's own image", () => {
    expect(env['INJECT_SIDECAR_IMAGE']).toBe(container.image);
  });

  it('lets the API server reach the webhook port through the default-deny network policies', () => {
    const policy = find(objects, 'NetworkPolicy', 'control-plane-webhook');
    expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'control-plane' });
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: Number(env['INJECTOR_PORT']) }]);
  });
});
