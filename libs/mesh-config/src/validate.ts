// Parses and validates MeshConfig YAML: schema first, then the cross-references a schema cannot see.
import { Ajv, type ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, pointerToPath, type ConfigIssue } from './config-error';
import { MeshConfigSchema, type MeshConfig, type RouteMatch } from './schema';

const ajv = new Ajv({ allErrors: true, strict: false });
const check = ajv.compile<MeshConfig>(MeshConfigSchema);

function describe(e: ErrorObject): ConfigIssue {
  const params = e.params as Record<string, unknown>;
  let path = pointerToPath(e.instancePath);
  let message = e.message ?? 'is invalid';
  switch (e.keyword) {
    case 'required':
      path = path ? `${path}.${String(params['missingProperty'])}` : String(params['missingProperty']);
      message = 'is required';
      break;
    case 'additionalProperties':
      path = path ? `${path}.${String(params['additionalProperty'])}` : String(params['additionalProperty']);
      message =
        e.instancePath === '/spec/services'
          ? 'is not a valid service name (lower-case letters, digits and "-", starting with a letter)'
          : 'is not a known setting';
      break;
    case 'const':
      message = `must be ${JSON.stringify(params['allowedValue'])}`;
      break;
    case 'pattern':
      message = `must match ${String(params['pattern'])}`;
      break;
  }
  return { path, message };
}

/** Union errors repeat once per branch; keep one message per path that says what is allowed. */
function collapse(errors: ErrorObject[]): ConfigIssue[] {
  const byPath = new Map<string, ConfigIssue>();
  const literals = new Map<string, string[]>();
  for (const e of errors) {
    if (e.keyword === 'const') {
      const path = pointerToPath(e.instancePath);
      literals.set(path, [...(literals.get(path) ?? []), JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)]);
      continue;
    }
    if (e.keyword === 'anyOf') continue;
    const issue = describe(e);
    if (e.keyword === 'propertyNames') continue;
    if (!byPath.has(`${issue.path}|${issue.message}`)) byPath.set(`${issue.path}|${issue.message}`, issue);
  }
  for (const [path, values] of literals) {
    byPath.set(`${path}|literal`, { path, message: values.length > 1 ? `must be one of ${values.join(', ')}` : `must be ${values[0]}` });
  }
  return [...byPath.values()];
}

function matchIssues(match: RouteMatch, path: string): ConfigIssue[] {
  const kinds = [match.pathPrefix, match.pathExact].filter((v) => v !== undefined).length;
  return kinds === 1 ? [] : [{ path: `${path}.match`, message: 'set exactly one of pathPrefix or pathExact' }];
}

function semanticIssues(config: MeshConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const lb = (policy: MeshConfig['spec']['services'][string]['policy'], path: string) => {
    if (policy?.loadBalancer?.policy === 'CONSISTENT_HASH' && !policy.loadBalancer.hashOn) {
      issues.push({ path: `${path}.loadBalancer.hashOn`, message: 'CONSISTENT_HASH needs hashOn: { header: NAME } or { cookie: NAME }' });
    }
  };
  lb(config.spec.defaults?.policy, 'spec.defaults.policy');
  for (const [name, svc] of Object.entries(config.spec.services)) {
    lb(svc.policy, `spec.services.${name}.policy`);
    const seen = new Set<string>();
    (svc.routes ?? []).forEach((route, i) => {
      const path = `spec.services.${name}.routes[${i}]`;
      if (seen.has(route.name)) issues.push({ path: `${path}.name`, message: `duplicate route name "${route.name}"` });
      seen.add(route.name);
      issues.push(...matchIssues(route.match, path));
      issues.push(...subsetIssues(config, name, route, path));
      if (route.mirror) {
        const target = route.mirror.service ?? name;
        if (!(target in config.spec.services)) issues.push({ path: `${path}.mirror.service`, message: `unknown service "${target}"` });
        else if (route.mirror.subset) issues.push(...unknownSubset(config, target, route.mirror.subset, `${path}.mirror.subset`));
      }
    });
  }
  const known = new Set([...Object.keys(config.spec.services), 'gateway']);
  (config.spec.authorization?.rules ?? []).forEach((rule, i) => {
    const path = `spec.authorization.rules[${i}]`;
    if (!known.has(rule.to)) issues.push({ path: `${path}.to`, message: `unknown service "${rule.to}"` });
    rule.from.forEach((f, j) => {
      if (f !== '*' && !known.has(f)) issues.push({ path: `${path}.from[${j}]`, message: `unknown service "${f}"; known: ${[...known].join(', ')}` });
    });
  });
  const edgeNames = new Set<string>();
  (config.spec.edge?.routes ?? []).forEach((route, i) => {
    const path = `spec.edge.routes[${i}]`;
    if (!(route.service in config.spec.services)) {
      issues.push({ path: `${path}.service`, message: `unknown service "${route.service}"; known: ${Object.keys(config.spec.services).join(', ')}` });
    }
    if (edgeNames.has(route.name)) issues.push({ path: `${path}.name`, message: `duplicate route name "${route.name}"` });
    edgeNames.add(route.name);
    issues.push(...matchIssues(route.match, path));
    if (route.service in config.spec.services) issues.push(...subsetIssues(config, route.service, route, path));
  });
  return issues;
}

/** Subsets are defined by the destination's policy; a typo would silently send nothing. */
function unknownSubset(config: MeshConfig, service: string, subset: string, at: string): ConfigIssue[] {
  const list = Object.keys(config.spec.services[service]?.policy?.subsets ?? {});
  return list.includes(subset)
    ? []
    : [{ path: at, message: `unknown subset "${subset}" of ${service}; defined: ${list.join(', ') || 'none (set policy.subsets)'}` }];
}

/** A route's `subset` or weighted `split` (a service's route or an edge route) over the destination's subsets. */
function subsetIssues(
  config: MeshConfig,
  service: string,
  route: { subset?: string; split?: { subset: string; weight: number }[] },
  path: string,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (route.subset) issues.push(...unknownSubset(config, service, route.subset, `${path}.subset`));
  if (route.subset && route.split) issues.push({ path: `${path}.split`, message: 'set subset or split, not both' });
  route.split?.forEach((s, j) => issues.push(...unknownSubset(config, service, s.subset, `${path}.split[${j}].subset`)));
  const total = route.split?.reduce((sum, s) => sum + s.weight, 0);
  if (total !== undefined && total !== 100) issues.push({ path: `${path}.split`, message: `weights must add up to 100, not ${total}` });
  return issues;
}

/** Validates an already-parsed object; throws ConfigError with every problem found. */
export function validateMeshConfig(value: unknown, source?: string): MeshConfig {
  if (!check(value)) throw new ConfigError(collapse(check.errors ?? []), source);
  const issues = semanticIssues(value);
  if (issues.length > 0) throw new ConfigError(issues, source);
  return value;
}

/** Parses YAML (or JSON) text; syntax errors are reported with line and column. */
export function parseMeshConfig(text: string, source?: string): MeshConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '', message: e.message.split('\n')[0]! })),
      source,
    );
  }
  return validateMeshConfig(doc.toJS(), source);
}

export function loadMeshConfigFile(file: string): MeshConfig {
  return parseMeshConfig(readFileSync(file, 'utf8'), file);
}
