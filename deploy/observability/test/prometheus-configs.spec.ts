// Checks the Kubernetes scrape config (promtool, and its relabelling on synthetic pods) and that both scrape
// configs load MeshCart's rules from where the repository and the containers keep them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { promtool, workspaceRoot as root } from './promtool.ts';

const PROMETHEUS_DIR = resolve(root, 'deploy/observability/prometheus');
const RULES_DIR = join(PROMETHEUS_DIR, 'rules');
const CONFIGS = ['compose.yml', 'kubernetes.yml'];

interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: 'replace' | 'keep' | 'drop';
}
interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  kubernetes_sd_configs?: Array<{ role: string; namespaces?: { names: string[] } }>;
  relabel_configs?: RelabelConfig[];
  [key: string]: unknown;
}
interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

const readConfig = (file: string) => parse(readFileSync(join(PROMETHEUS_DIR, file), 'utf8')) as PrometheusConfig;
const kubernetes = readConfig('kubernetes.yml');

/** Prometheus's relabelling for the actions kubernetes.yml uses; regexes are anchored as Prometheus anchors them. */
function relabel(labels: Record<string, string>, configs: RelabelConfig[]): Record<string, string> | undefined {
  const out = { ...labels };
  for (const c of configs) {
    const value = (c.source_labels ?? []).map((l) => out[l] ?? '').join(c.separator ?? ';');
    const regex = new RegExp(`^(?:${c.regex ?? '(.*)'})$`);
    const action = c.action ?? 'replace';
    if (action === 'keep' && !regex.test(value)) return undefined;
    if (action === 'drop' && regex.test(value)) return undefined;
    if (action === 'replace' && regex.test(value)) {
      const result = value.replace(regex, c.replacement ?? '$1');
      if (result === '') delete out[c.target_label!];
      else out[c.target_label!] = result;
    }
  }
  return out;
}

/** The target Prometheus would scrape for a pod's container port, as its identity: address, path and visible labels. */
function podTarget(pod: { ip: string; port: string; annotations?: Record<string, string>; phase?: string; name?: string }) {
  const meta: Record<string, string> = {
    job: 'meshcart-pods',
    __address__: `${pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip}:${pod.port}`,
    __metrics_path__: '/metrics',
    __scheme__: 'http',
    __meta_kubernetes_namespace: 'meshcart',
    __meta_kubernetes_pod_name: pod.name ?? 'order-service-7d9f8-abcde',
    __meta_kubernetes_pod_ip: pod.ip,
    __meta_kubernetes_pod_phase: pod.phase ?? 'Running',
    __meta_kubernetes_pod_node_name: 'node-a',
    __meta_kubernetes_pod_label_app_kubernetes_io_name: 'order-service',
    __meta_kubernetes_pod_container_port_number: pod.port,
  };
  for (const [k, v] of Object.entries(pod.annotations ?? {})) meta[`__meta_kubernetes_pod_annotation_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`] = v;
  const job = kubernetes.scrape_configs.find((j) => j.job_name === 'meshcart-pods')!;
  const result = relabel(meta, job.relabel_configs ?? []);
  if (!result) return undefined;
  return Object.fromEntries(
    Object.entries(result).filter(([k]) => !k.startsWith('__') || ['__address__', '__metrics_path__', '__scheme__'].includes(k)),
  );
}

const scraped = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15000' };

describe('MeshCart Prometheus scrape configs', () => {
  it('promtool accepts kubernetes.yml (with a file-based stand-in for Kubernetes discovery where promtool lacks it)', () => {
    const asWritten = promtool(['check', 'config', join(PROMETHEUS_DIR, 'kubernetes.yml')]);
    if (asWritten.status === 0) return;
    // Debian's prometheus is built without Kubernetes discovery: promtool refuses only that field. Everything
    // else (globals, relabel rules and their regexes, rule files) is checked as written.
    expect(asWritten.stdout + asWritten.stderr, 'promtool refused kubernetes.yml for more than a missing discovery').toMatch(
      /field kubernetes_sd_configs not found in type config\.ScrapeConfig/,
    );
    const standIn: PrometheusConfig = {
      ...kubernetes,
      rule_files: (kubernetes.rule_files ?? []).map((r) => join(PROMETHEUS_DIR, r)),
      scrape_configs: kubernetes.scrape_configs.map(({ kubernetes_sd_configs, ...job }) => ({
        ...job,
        ...(kubernetes_sd_configs ? { file_sd_configs: [{ files: ['/etc/prometheus/targets/*.json'] }] } : {}),
      })),
    };
    const dir = mkdtempSync(join(tmpdir(), 'meshcart-k8s-prometheus-'));
    try {
      writeFileSync(join(dir, 'kubernetes.yml'), stringify(standIn));
      const run = promtool(['check', 'config', join(dir, 'kubernetes.yml')]);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain(`SUCCESS: ${readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml')).length} rule files found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(CONFIGS)('%s loads every rules file through a path relative to itself', (file) => {
    const config = readConfig(file);
    expect(config.rule_files, `${file}: rule_files`).toEqual(['rules/*.yml']);
    const rulesFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml'));
    expect(rulesFiles.length).toBeGreaterThan(0);
    // Every file in rules/ matches the glob (nothing there in .yaml that it would miss).
    expect(readdirSync(RULES_DIR).filter((f) => !f.endsWith('.yml'))).toEqual([]);
  });

  it('kubernetes.yml discovers pods of the meshcart namespace', () => {
    const job = kubernetes.scrape_configs.find((j) => j.job_name === 'meshcart-pods');
    expect(job?.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['meshcart'] } }]);
  });

  it('scrapes an annotated pod at its annotated port, labelled with namespace, pod, service and node', () => {
    expect(podTarget({ ip: '10.1.2.3', port: '3000', annotations: scraped })).toEqual({
      job: 'meshcart-pods',
      __address__: '10.1.2.3:15000',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      namespace: 'meshcart',
      pod: 'order-service-7d9f8-abcde',
      service: 'order-service',
      node: 'node-a',
    });
  });

  it('takes the path from prometheus.io/path, and brackets IPv6 pod addresses', () => {
    expect(
      podTarget({ ip: '10.1.2.3', port: '3000', annotations: { ...scraped, 'prometheus.io/path': '/stats/prometheus' } })?.['__metrics_path__'],
    ).toBe('/stats/prometheus');
    expect(podTarget({ ip: 'fd00:10::7', port: '3000', annotations: scraped })?.['__address__']).toBe('[fd00:10::7]:15000');
  });

  it('makes one target of a pod with several container ports', () => {
    const targets = ['3000', '15000', '15001'].map((port) => JSON.stringify(podTarget({ ip: '10.1.2.3', port, annotations: scraped })));
    expect(new Set(targets).size).toBe(1);
  });

  it('leaves out pods that do not ask to be scraped, and pods not running', () => {
    expect(podTarget({ ip: '10.1.2.3', port: '3000' })).toBeUndefined();
    expect(podTarget({ ip: '10.1.2.3', port: '3000', annotations: { ...scraped, 'prometheus.io/scrape': 'false' } })).toBeUndefined();
    expect(podTarget({ ip: '10.1.2.3', port: '3000', annotations: scraped, phase: 'Succeeded' })).toBeUndefined();
  });

  it('docker-compose.yml mounts the rules directory where compose.yml looks for it', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const mounts = Object.values(compose.services).flatMap((s) =>
      (s.volumes ?? [])
        .map((v) => v.split(':'))
        .filter(([host]) => host?.startsWith('.'))
        .map(([host, container]) => ({ host: resolve(root, host!), container: container! })),
    );
    const config = mounts.find((m) => m.host === join(PROMETHEUS_DIR, 'compose.yml'));
    expect(config, 'docker-compose.yml does not mount deploy/observability/prometheus/compose.yml').toBeDefined();
    const rulesAt = join(dirname(config!.container), 'rules');
    expect(
      mounts.find((m) => m.host === RULES_DIR)?.container,
      `docker-compose.yml: mount ./deploy/observability/prometheus/rules:${rulesAt}:ro in the prometheus service, where rule_files (rules/*.yml) finds it`,
    ).toBe(rulesAt);
  });
});
