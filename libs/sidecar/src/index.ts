// Public API of the data plane: the sidecar, the runtime the gateway embeds, and the pieces tests compose.
export { Sidecar, type SidecarOptions, type SidecarPorts } from './sidecar';
export { MeshRuntime, type MeshRuntimeOptions } from './mesh-runtime';
export { DataPlane, ResourcesRejectedError } from './data-plane';
export { ControlPlaneClient } from './control/control-plane-client';
export { MeshMetrics, DURATION_BUCKETS } from './metrics';
export { AccessLog } from './access-log';
export { buildRouteTable, type RouteTable } from './route-table';
export { createBalancer, LeastRequest, RandomBalancer, RoundRobin, type Balancer, type EndpointState } from './balancers';
export { forwardableHeaders, meshRequest, respond, sendError } from './http-bridge';
export { destinationOf, SOURCE_HEADER, listen, closeServer } from './listeners';
export * from './errors';
export { Stack, type Handler, type Layer, type MeshRequest, type MeshResponse, type RequestContext, type Direction } from './types';
export type { RequestObserver, RequestRecord } from './layers/telemetry-layer';
export { MeshDispatcher } from './mesh-dispatcher';
export { ServiceMesh } from './service-mesh';
export { WorkloadIdentity, serviceOfSpiffeId, type Credentials } from './control/workload-identity';
