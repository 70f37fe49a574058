// The data plane's metric catalogue, read from the source of libs/sidecar/src/policies/telemetry/metrics.ts: each metric's
// name, type and label names, and the default labels every series carries.
import ts from 'typescript';

export interface MetricDefinition {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  labelNames: string[];
}

export interface MetricCatalogue {
  metrics: MetricDefinition[];
  defaultLabels: string[];
}

const TYPES: Record<string, MetricDefinition['type']> = { Counter: 'counter', Gauge: 'gauge', Histogram: 'histogram', Summary: 'summary' };

function unwrap(node: ts.Expression): ts.Expression {
  while (ts.isAsExpression(node) || ts.isParenthesizedExpression(node) || ts.isSatisfiesExpression(node)) node = node.expression;
  return node;
}

export function readMetricCatalogue(source: string, fileName = 'metrics.ts'): MetricCatalogue {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const constants = new Map<string, ts.Expression>();
  const metrics: MetricDefinition[] = [];
  const defaultLabels: string[] = [];

  const stringArray = (node: ts.Expression, what: string): string[] => {
    let value = unwrap(node);
    if (ts.isIdentifier(value)) {
      const resolved = constants.get(value.text);
      if (!resolved) throw new Error(`${fileName}: ${what} refers to ${value.text}, which is not a constant declared before it`);
      value = unwrap(resolved);
    }
    if (!ts.isArrayLiteralExpression(value)) throw new Error(`${fileName}: ${what} is not an array literal`);
    return value.elements.map((e) => {
      if (!ts.isStringLiteralLike(e)) throw new Error(`${fileName}: ${what} holds something other than a string literal`);
      return e.text;
    });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) constants.set(node.name.text, node.initializer);
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && TYPES[node.expression.text]) {
      const options = node.arguments?.[0];
      if (!options || !ts.isObjectLiteralExpression(options)) throw new Error(`${fileName}: new ${node.expression.text}() without an options object`);
      const prop = (key: string) =>
        options.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === key);
      const name = prop('name')?.initializer;
      if (!name || !ts.isStringLiteralLike(name)) throw new Error(`${fileName}: a ${node.expression.text} whose name is not a string literal`);
      const labels = prop('labelNames');
      metrics.push({
        name: name.text,
        type: TYPES[node.expression.text]!,
        labelNames: labels ? stringArray(labels.initializer, `labelNames of ${name.text}`) : [],
      });
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'setDefaultLabels') {
      const labels = node.arguments[0] && unwrap(node.arguments[0]);
      if (!labels || !ts.isObjectLiteralExpression(labels)) throw new Error(`${fileName}: setDefaultLabels() without an object literal`);
      for (const p of labels.properties) if (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) defaultLabels.push(p.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { metrics, defaultLabels };
}

/** The series names a metric exposes, each with the labels only that series adds. */
export function exposedSeries(metric: MetricDefinition): Array<{ name: string; extraLabels: string[] }> {
  switch (metric.type) {
    case 'histogram':
      return [
        { name: `${metric.name}_bucket`, extraLabels: ['le'] },
        { name: `${metric.name}_sum`, extraLabels: [] },
        { name: `${metric.name}_count`, extraLabels: [] },
      ];
    case 'summary':
      return [
        { name: metric.name, extraLabels: ['quantile'] },
        { name: `${metric.name}_sum`, extraLabels: [] },
        { name: `${metric.name}_count`, extraLabels: [] },
      ];
    default:
      return [{ name: metric.name, extraLabels: [] }];
  }
}
