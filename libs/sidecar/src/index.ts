// Public API of the data plane: what other projects use. Everything else is the library's own (see docs/architecture.md).
export { Sidecar, type SidecarOptions } from './runtime/sidecar';
export { MeshRuntime } from './runtime/mesh-runtime';
export { MeshDispatcher } from './fronts/mesh-dispatcher';
export { ProxylessInbound } from './fronts/proxyless-inbound';
export { serveEdge } from './fronts/edge';
export { ControlPlaneClient } from './control/control-plane-client';
export { WorkloadIdentity } from './control/workload-identity';
export { DURATION_BUCKETS } from './policies/telemetry/metrics';
