// Test support: a data plane for order-service with given payment-service policies, called through MeshDispatcher.
import { compileProxyResources, endpointsSnapshot, parseMeshConfig } from '@meshcart/mesh-config';
import { parsePrometheusText, samplesOf } from '@meshcart/prometheus-text';
import { request } from 'undici';
import { MeshDispatcher } from '../fronts/mesh-dispatcher';
import { DataPlane } from '../runtime/data-plane';
import { MeshMetrics } from './telemetry/metrics';

/** `paymentSpec` is the YAML of spec.services.payment-service, indented by six spaces. */
export function planeWith(paymentSpec: string, upstreams: (string | { url: string; labels: Record<string, string> })[]) {
  const configWith = (orderSpec = ' {}') =>
    parseMeshConfig(`
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: policy-test }
spec:
  defaults: { accessLog: { mode: 'off' } }
  services:
    order-service:${orderSpec}
    payment-service:
${paymentSpec}
`);
  const config = configWith();
  const metrics = new MeshMetrics({ service: 'order-service', instance: 'order-test' });
  const dataPlane = new DataPlane({ observers: () => [metrics] });
  metrics.observe(dataPlane.events);
  dataPlane.applyResources(compileProxyResources(config, 'order-service'));
  dataPlane.applyEndpoints(
    endpointsSnapshot({
      'payment-service': upstreams.map((u, i) => ({
        instance: `payment-${i + 1}`,
        url: typeof u === 'string' ? u : u.url,
        weight: 1,
        labels: typeof u === 'string' ? {} : u.labels,
      })),
    }),
  );
  const dispatcher = new MeshDispatcher(dataPlane, 'order-service');
  const call = async (path = '/charges', init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    const res = await request(`http://payment-service${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: init.headers,
      body: init.body,
      dispatcher,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };
  /** Pushes the same payment-service policies with order-service's own settings changed (` { rateLimit: ... }`). */
  const pushOrderSpec = (orderSpec: string) => dataPlane.applyResources(compileProxyResources(configWith(orderSpec), 'order-service'));
  return { dataPlane, metrics, call, pushOrderSpec, close: () => dataPlane.close() };
}

/** The value of one sample of a metric, matched by all the given labels. */
export async function sample(metrics: MeshMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  return samplesOf(parsePrometheusText(await metrics.metrics()), name, labels)[0]?.value ?? 0;
}
