// Public API of topology: the shop's services, instances, ports and calls, from deploy/topology.yaml.
export {
  TopologySchema,
  TopologyService,
  TopologyInstance,
  TopologyError,
  validateTopology,
  loadTopology,
  instancesOf,
  callersOf,
  type Topology,
  type InstanceSpec,
} from './topology';
export { K8S_NAMESPACE, PROFILES, k8sMeshConfig } from './k8s-mesh-config';
