// Checks MeshCart's Prometheus rules: promtool accepts them and their unit tests pass, every alert and
// recording rule is tested (or, for a recording rule, drawn on a dashboard), and they read only metrics the
// data plane exports (libs/sidecar/src/policies/telemetry/metrics.ts) or the proposals of proposed-metrics.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exposedSeries, readMetricCatalogue, type MetricDefinition } from './metric-catalogue.ts';
import { PROPOSED_METRICS } from './proposed-metrics.ts';
import { promqlNames, withGrafanaVariablesFilledIn } from './promql-names.ts';
import { promtool, workspaceRoot as root } from './promtool.ts';

const PROMETHEUS_DIR = 'deploy/observability/prometheus';
const RULES_DIR = `${PROMETHEUS_DIR}/rules`;
const TESTS_DIR = `${PROMETHEUS_DIR}/tests`;
const DASHBOARDS_DIR = 'deploy/observability/grafana/dashboards';
const RUNBOOK = 'docs/observability.md';

const read = (path: string) => readFileSync(resolve(root, path), 'utf8');
const yamlFiles = (dir: string) =>
  readdirSync(resolve(root, dir))
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .map((f) => `${dir}/${f}`);

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface RuleTestFile {
  rule_files: string[];
  tests: Array<{
    input_series?: Array<{ series: string; values: string }>;
    alert_rule_test?: Array<{ alertname: string; eval_time: string; exp_alerts?: unknown[] }>;
    promql_expr_test?: Array<{ expr: string; eval_time: string; exp_samples?: unknown[] }>;
  }>;
}

const ruleFiles = yamlFiles(RULES_DIR);
const testFiles = yamlFiles(TESTS_DIR);
const rules = ruleFiles.flatMap((file) =>
  (parse(read(file)) as RuleFile).groups.flatMap((g) => g.rules.map((rule) => ({ file, group: g.name, rule }))),
);
const recordingRules = rules.filter((r) => r.rule.record);
const alertRules = rules.filter((r) => r.rule.alert);
const ruleTests = testFiles.map((file) => ({ file, spec: parse(read(file)) as RuleTestFile }));

/** Labels every series of the data plane carries besides its own: the proxy's defaults and the scrape's target labels. */
function scrapeLabels(): string[] {
  const compose = parse(read(`${PROMETHEUS_DIR}/compose.yml`)) as {
    scrape_configs: Array<{ static_configs?: Array<{ labels?: Record<string, string> }> }>;
  };
  const kubernetes = parse(read(`${PROMETHEUS_DIR}/kubernetes.yml`)) as {
    scrape_configs: Array<{ relabel_configs?: Array<{ target_label?: string }> }>;
  };
  return [
    'job',
    'instance',
    ...compose.scrape_configs.flatMap((j) => (j.static_configs ?? []).flatMap((s) => Object.keys(s.labels ?? {}))),
    ...kubernetes.scrape_configs.flatMap((j) => (j.relabel_configs ?? []).map((r) => r.target_label ?? '').filter((l) => l && !l.startsWith('__'))),
  ];
}

/** Series name → the labels it can carry: the catalogue's, then the proposals the catalogue lacks, then the recorded series. */
function knownSeries(): { labels: Map<string, Set<string>>; proposedInUse: Set<string> } {
  const catalogue = readMetricCatalogue(read('libs/sidecar/src/policies/telemetry/metrics.ts'));
  const shared = [...catalogue.defaultLabels, ...scrapeLabels()];
  const labels = new Map<string, Set<string>>();
  const add = (metric: MetricDefinition) => {
    for (const s of exposedSeries(metric)) labels.set(s.name, new Set([...metric.labelNames, ...s.extraLabels, ...shared]));
  };
  catalogue.metrics.forEach(add);
  const proposedInUse = new Set<string>();
  for (const p of PROPOSED_METRICS) {
    if (labels.has(p.name)) continue;
    add(p);
    proposedInUse.add(p.name);
  }
  // A recorded series keeps the labels its expression groups by (less le, which histogram_quantile
  // consumes); an expression without grouping keeps those of the recorded series it combines.
  for (const { rule } of recordingRules) {
    const names = promqlNames(rule.expr);
    const grouped = names.groupingLabels.length > 0 ? names.groupingLabels : names.selectors.flatMap((s) => [...(labels.get(s.metric) ?? [])]);
    const kept = new Set(grouped);
    if (/^\s*histogram_quantile\(/.test(rule.expr)) kept.delete('le');
    labels.set(rule.record!, kept);
  }
  return { labels, proposedInUse };
}

/** Alert names a test expects at some evaluation, split into the tests where it fires and where it stays silent. */
function alertCases(): Map<string, { firing: number; silent: number }> {
  const cases = new Map<string, { firing: number; silent: number }>();
  for (const { spec } of ruleTests) {
    for (const t of spec.tests.flatMap((test) => test.alert_rule_test ?? [])) {
      const c = cases.get(t.alertname) ?? { firing: 0, silent: 0 };
      if ((t.exp_alerts ?? []).length > 0) c.firing++;
      else c.silent++;
      cases.set(t.alertname, c);
    }
  }
  return cases;
}

/** GitHub's anchor for a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('MeshCart Prometheus rules', () => {
  it('finds the recording and alert rules files and their unit tests', () => {
    expect(ruleFiles.map((f) => f.slice(RULES_DIR.length + 1))).toEqual(expect.arrayContaining(['meshcart-recording.yml', 'meshcart-alerts.yml']));
    expect(recordingRules.length).toBeGreaterThan(10);
    expect(alertRules.length).toBeGreaterThanOrEqual(5);
    expect(testFiles.length).toBeGreaterThan(0);
  });

  it.each(ruleFiles)('promtool check rules accepts %s', (file) => {
    const run = promtool(['check', 'rules', file]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const count = (parse(read(file)) as RuleFile).groups.reduce((n, g) => n + g.rules.length, 0);
    expect(run.stdout).toContain(`SUCCESS: ${count} rules found`);
  });

  it.each(testFiles)('promtool test rules passes %s', (file) => {
    const run = promtool(['test', 'rules', file]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });

  it('the unit tests load every rules file, and only files that exist', () => {
    const loaded = new Set<string>();
    for (const { file, spec } of ruleTests) {
      for (const r of spec.rule_files) {
        const path = relative(root, resolve(root, dirname(file), r));
        expect(ruleFiles, `${file}: rule_files names ${r}`).toContain(path);
        loaded.add(path);
      }
    }
    expect([...loaded].sort()).toEqual([...ruleFiles].sort());
  });

  it('every alert has a unit test where it fires and one where it stays silent, and no test names an unknown alert', () => {
    const cases = alertCases();
    const problems = alertRules.flatMap(({ file, rule }) => {
      const c = cases.get(rule.alert!);
      if (!c) return [`${file}: ${rule.alert} has no alert_rule_test`];
      return [...(c.firing ? [] : [`${rule.alert} never fires in a test`]), ...(c.silent ? [] : [`${rule.alert} has no test where it stays silent`])];
    });
    expect(problems).toEqual([]);
    expect([...cases.keys()].filter((name) => !alertRules.some((r) => r.rule.alert === name))).toEqual([]);
  });

  it('every recording rule is read by a unit test or a dashboard', () => {
    const dashboardExprs = readdirSync(resolve(root, DASHBOARDS_DIR))
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => [...read(join(DASHBOARDS_DIR, f)).matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string));
    const testExprs = ruleTests.flatMap(({ spec }) => spec.tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr)));
    const read_ = new Set(
      [...dashboardExprs.map(withGrafanaVariablesFilledIn), ...testExprs].flatMap((e) => promqlNames(e).selectors.map((s) => s.metric)),
    );
    expect(recordingRules.filter((r) => !read_.has(r.rule.record!)).map((r) => r.rule.record)).toEqual([]);
  });

  it('recorded series are named level:metric:operations, with the meshcart level, and each name is recorded once', () => {
    const names = recordingRules.map((r) => r.rule.record!);
    expect(names.filter((n) => !/^meshcart:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$/.test(n))).toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('rules name only metrics libs/sidecar/src/policies/telemetry/metrics.ts defines, the proposals of proposed-metrics.ts, or recorded series', () => {
    const { labels } = knownSeries();
    const unknown = rules.flatMap(({ file, rule }) =>
      promqlNames(rule.expr)
        .selectors.filter((s) => !labels.has(s.metric))
        .map((s) => `${file} ${rule.record ?? rule.alert}: ${s.metric || '(a selector without a metric name)'}`),
    );
    expect(unknown, `known: ${[...labels.keys()].join(', ')}`).toEqual([]);
  });

  it('rules filter and group only by labels their metrics carry', () => {
    const { labels } = knownSeries();
    const problems: string[] = [];
    for (const { file, rule } of rules) {
      const { selectors, groupingLabels } = promqlNames(rule.expr);
      for (const s of selectors) {
        for (const label of s.matchers)
          if (!labels.get(s.metric)?.has(label)) problems.push(`${file} ${rule.record ?? rule.alert}: ${s.metric} has no label ${label}`);
        for (const label of groupingLabels)
          if (!labels.get(s.metric)?.has(label)) problems.push(`${file} ${rule.record ?? rule.alert}: groups by ${label}, which ${s.metric} lacks`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('a proposed metric the data plane now exports has the proposed type and labels (and the proposal can go)', () => {
    const catalogue = readMetricCatalogue(read('libs/sidecar/src/policies/telemetry/metrics.ts'));
    for (const p of PROPOSED_METRICS) {
      const defined = catalogue.metrics.find((m) => m.name === p.name);
      if (defined)
        expect({ type: defined.type, labelNames: [...defined.labelNames].sort() }, p.name).toEqual({
          type: p.type,
          labelNames: [...p.labelNames].sort(),
        });
    }
  });

  it('every proposed metric is read by the rules that claim it, and every rule reading one is listed', () => {
    const readers = new Map<string, string[]>();
    for (const { rule } of alertRules) {
      for (const s of promqlNames(rule.expr).selectors) {
        if (PROPOSED_METRICS.some((p) => p.name === s.metric)) readers.set(s.metric, [...new Set([...(readers.get(s.metric) ?? []), rule.alert!])]);
      }
    }
    for (const p of PROPOSED_METRICS) expect((readers.get(p.name) ?? []).sort(), p.name).toEqual([...p.readBy].sort());
    // Recording rules read no proposal: the dashboards they feed work with what the proxies export today.
    for (const { rule } of recordingRules)
      expect(promqlNames(rule.expr).selectors.filter((s) => PROPOSED_METRICS.some((p) => p.name === s.metric))).toEqual([]);
  });

  it(`every alert has a severity, a summary, a description and a runbook in ${RUNBOOK}`, () => {
    const headings = new Set([...read(RUNBOOK).matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
    const problems: string[] = [];
    for (const { rule } of alertRules) {
      const name = rule.alert!;
      if (!['critical', 'warning'].includes(rule.labels?.['severity'] ?? '')) problems.push(`${name}: severity is ${rule.labels?.['severity']}`);
      for (const a of ['summary', 'description', 'runbook_url']) if (!rule.annotations?.[a]) problems.push(`${name}: no ${a}`);
      const [doc, anchor] = (rule.annotations?.['runbook_url'] ?? '').split('#');
      if (doc !== RUNBOOK || anchor !== anchorOf(name) || !headings.has(anchor))
        problems.push(`${name}: runbook_url should be ${RUNBOOK}#${anchorOf(name)}, a heading there`);
    }
    expect(problems).toEqual([]);
  });
});
