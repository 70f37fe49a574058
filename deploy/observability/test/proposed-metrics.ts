// Metrics MeshCart's alert rules read that libs/sidecar/src/metrics.ts may not export yet: the one place the
// rule checks accept a name outside the metric catalogue. Each entry is the spec for whoever adds it to the
// data plane; once the catalogue defines a name, its type and labels must match the entry (the tests check),
// and the entry can go.
import type { MetricDefinition } from './metric-catalogue.ts';

export interface ProposedMetric extends MetricDefinition {
  help: string;
  /** Where the data plane would set it. */
  setIn: string;
  /** The rules that read it. */
  readBy: string[];
}

// mesh_workload_certificate_expiry_timestamp_seconds and mesh_config_rejected_total{kind}, which the rules also
// read, are exported since 0776c5a.
export const PROPOSED_METRICS: ProposedMetric[] = [
  {
    name: 'mesh_workload_certificate_issued_timestamp_seconds',
    type: 'gauge',
    labelNames: [],
    help: "When this proxy's workload certificate came into use (Unix time): the start of the lifetime it renews at two thirds of.",
    setIn:
      "libs/sidecar/src/metrics.ts, on the 'certificate' event MeshRuntime emits from WorkloadIdentity's 'change' " +
      '(libs/sidecar/src/mesh-runtime.ts), beside mesh_workload_certificate_expiry_timestamp_seconds; the event would carry ' +
      "the time the certificate was received (the start WorkloadIdentity.scheduleRenewal measures two thirds from), or the certificate's notBefore.",
    readBy: ['MeshCartWorkloadCertificateRenewalOverdue', 'MeshCartWorkloadCertificateExpiringSoon'],
  },
];
