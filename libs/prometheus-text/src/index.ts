// Public API of prometheus-text: one reader of the Prometheus text format and one histogram_quantile for every /metrics consumer.
export { parsePrometheusFloat, parsePrometheusText, samplesOf, type Labels, type Sample } from './parse-prometheus-text';
export { sumHistograms, type Histogram } from './sum-histograms';
export { histogramQuantile } from './histogram-quantile';
