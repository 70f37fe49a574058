// Starts the whole mesh on loopback as real processes: used by `npm start`, the end-to-end tests and the benchmarks.
export { LocalMesh, type LocalMeshOptions, type ProcessRow } from './local-mesh';
export {
  INSTANCES,
  DEFAULT_PORTS,
  fixedPlan,
  ephemeralPlan,
  assertPortsFree,
  PortInUseError,
  type InstanceSpec,
  type InstancePorts,
  type PortPlan,
  type PortSettings,
} from './port-plan';
export { ensureDashboard, dashboardIsStale, DASHBOARD_OUT } from './dashboard-build';
