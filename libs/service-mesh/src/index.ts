// Public API of the service mesh join: how a Fastify service takes part in the mesh in its mode (sidecar, proxyless or off).
export { ServiceMesh } from './service-mesh';
export { installProxylessInbound } from './proxyless-inbound';
