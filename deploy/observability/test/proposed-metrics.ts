// Metrics MeshCart's alert rules read that libs/sidecar/src/policies/telemetry/metrics.ts may not export yet: the one place the
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

// Every metric the rules read is exported now (the certificate timestamps and mesh_config_rejected_total{kind}).
export const PROPOSED_METRICS: ProposedMetric[] = [];
