// Checks the Prometheus and Grafana files of deploy/observability against what they describe: the data
// plane's metrics (libs/sidecar/src/policies/telemetry/metrics.ts) and the compose demo (docker-compose.yml).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exposedSeries, readMetricCatalogue } from './metric-catalogue.ts';
import { promqlNames, withGrafanaVariablesFilledIn } from './promql-names.ts';
import { promtool } from './promtool.ts';

const here = resolve(import.meta.dirname, '..');
const root = resolve(here, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');
const readYaml = <T>(path: string): T => parse(read(path), { merge: true }) as T;

const PROMETHEUS_CONFIG = 'deploy/observability/prometheus/compose.yml';
const DATASOURCES = 'deploy/observability/grafana/provisioning/datasources/prometheus.yml';
const DASHBOARD_PROVIDERS = 'deploy/observability/grafana/provisioning/dashboards/meshcart.yml';
const DASHBOARDS_DIR = 'deploy/observability/grafana/dashboards';

interface ComposeService {
  command?: string[];
  network_mode?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
}
interface ScrapeConfig {
  job_name: string;
  static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
}
interface Target {
  datasource?: { uid?: string };
  refId: string;
  expr: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; datasource?: { uid?: string }; query?: string | { query: string } }> };
}

const compose = readYaml<{ services: Record<string, ComposeService> }>('docker-compose.yml');
const prometheus = readYaml<{ scrape_configs: ScrapeConfig[] }>(PROMETHEUS_CONFIG);
const datasources = readYaml<{ datasources: Array<{ uid: string; type: string; url: string; isDefault?: boolean }> }>(DATASOURCES);
const dashboardFiles = readdirSync(resolve(root, DASHBOARDS_DIR)).filter((f) => f.endsWith('.json'));
const dashboards = dashboardFiles.map((f) => ({ file: f, dashboard: JSON.parse(read(join(DASHBOARDS_DIR, f))) as Dashboard }));

const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const queryPanels = (d: Dashboard) => allPanels(d.panels).filter((p) => p.type !== 'row');

/** Container path → host path, for a service's short-syntax bind mounts. */
function mounts(service: ComposeService): Array<{ host: string; container: string }> {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([host]) => host?.startsWith('.'))
    .map(([host, container]) => ({ host: resolve(root, host!), container: container! }));
}

/** Every mesh proxy compose runs, with where its admin port is reached and the service it proxies. */
function composeProxies() {
  const defaultAdminPort = (file: string) => {
    const m = /readPort\(env, 'ADMIN_PORT', (\d+)\)/.exec(read(file));
    if (!m) throw new Error(`${file} no longer reads ADMIN_PORT with a default port: update this test`);
    return m[1]!;
  };
  const proxies: Array<{ composeService: string; target: string; service: string; adminHost: string | undefined }> = [];
  for (const [name, s] of Object.entries(compose.services)) {
    const env = s.environment ?? {};
    if (s.command?.[0] === 'sidecar') {
      const host = /^service:(.+)$/.exec(s.network_mode ?? '')?.[1] ?? name;
      const port = env['ADMIN_PORT'] ?? defaultAdminPort('apps/sidecar/src/sidecar-env.ts');
      proxies.push({ composeService: name, target: `${host}:${port}`, service: env['MESH_SERVICE'] ?? '', adminHost: env['ADMIN_HOST'] });
    } else if (s.command?.[0] === 'gateway') {
      const port = env['ADMIN_PORT'] ?? defaultAdminPort('apps/gateway/src/main.ts');
      proxies.push({ composeService: name, target: `${name}:${port}`, service: 'gateway', adminHost: env['ADMIN_HOST'] });
    }
  }
  return proxies;
}

const scrapeTargets = prometheus.scrape_configs.flatMap((job) =>
  (job.static_configs ?? []).flatMap((sc) => sc.targets.map((target) => ({ job: job.job_name, target, labels: sc.labels ?? {} }))),
);

/** Every label a scraped series of each exposed name can carry: its own, the proxy's defaults, Prometheus's target labels. */
function seriesLabels(): Map<string, Set<string>> {
  const catalogue = readMetricCatalogue(read('libs/sidecar/src/policies/telemetry/metrics.ts'));
  const targetLabels = ['job', 'instance', ...scrapeTargets.flatMap((t) => Object.keys(t.labels))];
  const labels = new Map<string, Set<string>>();
  for (const metric of catalogue.metrics) {
    for (const series of exposedSeries(metric)) {
      labels.set(series.name, new Set([...metric.labelNames, ...series.extraLabels, ...catalogue.defaultLabels, ...targetLabels]));
    }
  }
  return labels;
}

/** Every PromQL expression of the dashboards, variables' queries included, named for messages. */
function dashboardQueries(): Array<{ where: string; expr: string; legendFormat?: string }> {
  return dashboards.flatMap(({ file, dashboard }) => [
    ...queryPanels(dashboard).flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        where: `${file} panel ${p.id} "${p.title}" query ${t.refId}`,
        expr: withGrafanaVariablesFilledIn(t.expr),
        legendFormat: t.legendFormat,
      })),
    ),
    ...dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => {
        const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
        // label_values(selector, label) is Grafana's, not PromQL: its selector is.
        const labelValues = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
        const expr = labelValues ? `group by (${labelValues[2]}) (${labelValues[1]})` : query;
        return { where: `${file} variable $${v.name}`, expr: withGrafanaVariablesFilledIn(expr) };
      }),
  ]);
}

describe('MeshCart observability files', () => {
  it('reads a non-empty metric catalogue from the sidecar library, with the request histogram and its labels', () => {
    const labels = seriesLabels();
    expect(labels.get('mesh_requests_total')).toEqual(expect.any(Set));
    expect([...labels.get('mesh_request_duration_seconds_bucket')!]).toEqual(
      expect.arrayContaining(['le', 'direction', 'src_service', 'dst_service', 'status_code', 'route', 'proxy_service']),
    );
  });

  it('dashboard queries name only metrics that libs/sidecar/src/policies/telemetry/metrics.ts defines', () => {
    const known = seriesLabels();
    const unknown = dashboardQueries().flatMap(({ where, expr }) =>
      promqlNames(expr)
        .selectors.filter((s) => !known.has(s.metric))
        .map((s) => `${where}: ${s.metric || '(a selector without a metric name)'}`),
    );
    expect(unknown, `metrics the data plane does not export; known: ${[...known.keys()].join(', ')}`).toEqual([]);
    expect(dashboardQueries().length).toBeGreaterThan(10);
  });

  it('dashboard queries filter, group and name legends only by labels their metrics carry', () => {
    const known = seriesLabels();
    const problems: string[] = [];
    for (const { where, expr, legendFormat } of dashboardQueries()) {
      const { selectors, groupingLabels } = promqlNames(expr);
      for (const s of selectors) {
        for (const label of s.matchers) if (!known.get(s.metric)?.has(label)) problems.push(`${where}: ${s.metric} has no label ${label}`);
        for (const label of groupingLabels)
          if (!known.get(s.metric)?.has(label)) problems.push(`${where}: groups by ${label}, which ${s.metric} lacks`);
      }
      // After an aggregation only its grouping labels are left for the legend.
      const legendLabels = [...(legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
      for (const label of legendLabels) {
        const available = groupingLabels.length > 0 ? groupingLabels.includes(label) : selectors.every((s) => known.get(s.metric)?.has(label));
        if (!available) problems.push(`${where}: legend names {{${label}}}, which the query's result does not carry`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every panel and query uses the provisioned Prometheus data source', () => {
    const provisioned = datasources.datasources.find((d) => d.type === 'prometheus');
    expect(provisioned?.uid, `${DATASOURCES} has no Prometheus data source with a uid`).toBeTruthy();
    expect(provisioned?.isDefault).toBe(true);
    const wrong = dashboards.flatMap(({ file, dashboard }) => [
      ...queryPanels(dashboard).flatMap((p) => [
        ...(p.datasource?.uid === provisioned!.uid ? [] : [`${file} panel ${p.id} "${p.title}"`]),
        ...(p.targets ?? []).filter((t) => t.datasource?.uid !== provisioned!.uid).map((t) => `${file} panel ${p.id} query ${t.refId}`),
      ]),
      ...dashboard.templating.list
        .filter((v) => v.type === 'query' && v.datasource?.uid !== provisioned!.uid)
        .map((v) => `${file} variable $${v.name}`),
    ]);
    expect(wrong, `should use data source uid ${provisioned!.uid}`).toEqual([]);
  });

  it('panel ids are unique within each dashboard, and dashboard uids across dashboards', () => {
    for (const { file, dashboard } of dashboards) {
      const ids = allPanels(dashboard.panels).map((p) => p.id);
      const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
      expect(repeated, `${file}: repeated panel ids`).toEqual([]);
    }
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('the home dashboard docker-compose.yml names for Grafana exists in the mounted dashboards directory', () => {
    const grafana = compose.services['grafana'];
    const home = grafana?.environment?.['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'];
    expect(home, 'docker-compose.yml: grafana sets no home dashboard').toBeTruthy();
    const mount = mounts(grafana!).find((m) => home!.startsWith(`${m.container}/`));
    expect(mount, `docker-compose.yml: no grafana bind mount holds ${home}`).toBeDefined();
    const file = join(mount!.host, home!.slice(mount!.container.length));
    expect(existsSync(file), `${file} is missing`).toBe(true);
    expect((JSON.parse(readFileSync(file, 'utf8')) as Dashboard).panels.length).toBeGreaterThan(0);
  });

  it('Grafana provisioning loads dashboards from where compose mounts them and reaches Prometheus at its compose service', () => {
    const grafanaMounts = mounts(compose.services['grafana']!);
    const provisioning = grafanaMounts.find((m) => m.container === '/etc/grafana/provisioning');
    expect(provisioning?.host).toBe(resolve(root, 'deploy/observability/grafana/provisioning'));
    const dashboardsMount = grafanaMounts.find((m) => m.host === resolve(root, DASHBOARDS_DIR));
    expect(dashboardsMount, `docker-compose.yml does not mount ${DASHBOARDS_DIR} into grafana`).toBeDefined();
    const providers = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(DASHBOARD_PROVIDERS).providers;
    expect(providers.map((p) => p.options.path)).toContain(dashboardsMount!.container);

    const url = new URL(datasources.datasources.find((d) => d.type === 'prometheus')!.url);
    expect(Object.keys(compose.services)).toContain(url.hostname);
    expect(compose.services[url.hostname]!.ports?.some((p) => p.endsWith(`:${url.port}`))).toBe(true);

    const prometheusMount = mounts(compose.services[url.hostname]!).find((m) => m.container === '/etc/prometheus/prometheus.yml');
    expect(prometheusMount?.host).toBe(resolve(root, PROMETHEUS_CONFIG));
    expect(statSync(resolve(root, PROMETHEUS_CONFIG)).isFile()).toBe(true);
  });

  it('every scrape target is a compose proxy admin port reachable from the network, labelled with its service', () => {
    const proxies = new Map(composeProxies().map((p) => [p.target, p]));
    expect(scrapeTargets.length).toBeGreaterThan(0);
    for (const { target, labels } of scrapeTargets) {
      const host = target.split(':')[0]!;
      expect(Object.keys(compose.services), `${PROMETHEUS_CONFIG}: ${target} is not a compose service`).toContain(host);
      const proxy = proxies.get(target);
      expect(
        proxy,
        `${PROMETHEUS_CONFIG}: ${target} is not a mesh proxy's admin port in docker-compose.yml (${[...proxies.keys()].join(', ')})`,
      ).toBeDefined();
      expect(
        ['0.0.0.0', '::'],
        `docker-compose.yml: ${proxy!.composeService} keeps its admin port on ${proxy!.adminHost ?? 'its default host'}`,
      ).toContain(proxy!.adminHost);
      expect(labels['service'], `${target}: service label`).toBe(proxy!.service);
      expect(labels['instance_name'], `${target}: instance_name label`).toBe(host);
    }
  });

  it('every mesh proxy in docker-compose.yml is scraped', () => {
    const scraped = new Set(scrapeTargets.map((t) => t.target));
    const missing = composeProxies()
      .filter((p) => !scraped.has(p.target))
      .map((p) => `${p.composeService} (${p.target})`);
    expect(missing).toEqual([]);
  });

  it('promtool accepts the compose scrape config', () => {
    const run = promtool(['check', 'config', PROMETHEUS_CONFIG]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('promtool parses every dashboard query as PromQL', () => {
    const queries = dashboardQueries();
    // As recording rules, promtool parses each expression and names the rule that fails.
    const rules = {
      groups: [
        {
          name: 'meshcart-dashboard-queries',
          rules: queries.map((q, i) => ({ record: `meshcart:dashboard_query:${i}`, expr: q.expr, labels: { where: q.where } })),
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'meshcart-promql-'));
    try {
      const file = join(dir, 'dashboard-queries.yml');
      writeFileSync(file, JSON.stringify(rules, null, 2));
      const run = promtool(['check', 'rules', file]);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
