// Containers of our own image as the container tests start them (testcontainers): a role, its
// environment, healthy before the test goes on; a service beside its sidecar in one network
// namespace, as compose and Kubernetes run them.
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';

/** Each service's own join credential in these tests: its sidecar presents it, and the control plane is given them all. */
export const JOIN_TOKENS: Record<string, string> = Object.fromEntries(
  ['gateway', 'user-service', 'product-service', 'order-service', 'payment-service'].map((s) => [s, `container-test-join-credential-of-${s}`]),
);

/** What a control plane in these tests is started with: the services' join credentials and the operator's. */
export const CONTROL_PLANE_CREDENTIALS = {
  MESH_JOIN_CREDENTIALS: Object.entries(JOIN_TOKENS)
    .map(([service, token]) => `${service}=${token}`)
    .join(','),
  MESH_OPERATOR_TOKEN: 'container-test-operator-credential-0123456789',
};

/** Headers of a change made as an operator (meshctl). */
export const AS_OPERATOR = { authorization: `Bearer ${CONTROL_PLANE_CREDENTIALS.MESH_OPERATOR_TOKEN}` };

export interface Pod {
  app: StartedTestContainer;
  sidecar: StartedTestContainer;
}

/** A container of `image` running `role`, started once its HEALTHCHECK passes. */
export function meshContainer(image: string, role: string, env: Record<string, string>): GenericContainer {
  return new GenericContainer(image).withCommand([role]).withEnvironment(env).withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(90_000);
}

/**
 * An app listening on loopback, reachable as `instance` on `network`, and its sidecar in the app's
 * network namespace. `env` (the control-plane URLs) goes to both, the service's join credential to the
 * sidecar only (it is the one that registers); `track` hears of each
 * container as soon as it runs, so a test stops it even when the other one fails to start.
 */
export async function startPod(opts: {
  image: string;
  network: StartedNetwork;
  service: string;
  instance: string;
  port: number;
  env: Record<string, string>;
  data?: string;
  track: (c: StartedTestContainer) => void;
}): Promise<Pod> {
  const { image, service, instance, port, env } = opts;
  let app = meshContainer(image, service, {
    ...env,
    HOST: '127.0.0.1',
    PORT: String(port),
    MESH_MODE: 'sidecar',
    MESH_OUTBOUND_URL: 'http://127.0.0.1:15001',
    MESH_INSTANCE: instance,
    // As the shop's v1 instances register (deploy/topology.yaml): the profiles route to the v1 subset.
    MESH_LABELS: 'version=v1',
    PAYMENT_LATENCY_MS: '0',
  })
    .withNetwork(opts.network)
    .withNetworkAliases(instance);
  if (opts.data) app = app.withBindMounts([{ source: opts.data, target: '/data' }]);
  const started = await app.start();
  opts.track(started);
  const sidecar = await meshContainer(image, 'sidecar', {
    ...env,
    HOST: '127.0.0.1',
    INBOUND_HOST: '0.0.0.0',
    ADMIN_HOST: '0.0.0.0',
    MESH_SERVICE: service,
    MESH_INSTANCE: instance,
    MESH_JOIN_TOKEN: JOIN_TOKENS[service]!,
    MESH_LABELS: 'version=v1',
    APP_PORT: String(port),
    ADVERTISE_HOST: instance,
  })
    .withNetworkMode(`container:${started.getId()}`)
    .start();
  opts.track(sidecar);
  return { app: started, sidecar };
}

/** The gateway on `network` as `gateway`, its public port exposed, proving itself with the gateway's join credential; `env` adds to it. */
export function startGateway(image: string, network: StartedNetwork, env: Record<string, string>): Promise<StartedTestContainer> {
  return meshContainer(image, 'gateway', {
    ...env,
    HOST: '0.0.0.0',
    PORT: '8080',
    ADMIN_HOST: '0.0.0.0',
    ADMIN_PORT: '15100',
    ADVERTISE_HOST: 'gateway',
    MESH_INSTANCE: 'gateway-1',
    MESH_JOIN_TOKEN: JOIN_TOKENS['gateway']!,
  })
    .withNetwork(network)
    .withNetworkAliases('gateway')
    .withExposedPorts(8080)
    .start();
}
