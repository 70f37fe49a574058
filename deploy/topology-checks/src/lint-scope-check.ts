// The Nx projects and lint scopes against the topology: every service is a project at apps/<service> with a scope of its own that eslint.config.js constrains, and no app is a service the topology does not declare.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Topology } from '@meshcart/topology';
import { PLATFORM_APPS, TOPOLOGY_FILE } from './workspace';

export const ESLINT_CONFIG = 'eslint.config.js';
const PROJECT_DIRS = ['apps', 'libs', 'deploy', 'load-tests', 'tools'];
const RULE = '@nx/enforce-module-boundaries';

export interface NxProject {
  /** Its folder, from the repository root (apps/user-service). */
  path: string;
  name?: string;
  tags: string[];
}

/** Every Nx project (a folder with a project.json) in the folders where MeshCart keeps them. */
export function readProjects(root: string): NxProject[] {
  const projects: NxProject[] = [];
  const visit = (rel: string) => {
    const dir = join(root, rel);
    if (existsSync(join(dir, 'project.json'))) {
      const json = JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')) as { name?: string; tags?: string[] };
      projects.push({ path: rel, ...(json.name ? { name: json.name } : {}), tags: json.tags ?? [] });
    }
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory() && !['node_modules', 'dist', 'src', 'test', '.nx', '.data'].includes(entry.name) && !entry.name.startsWith('.'))
        visit(`${rel}/${entry.name}`);
  };
  for (const top of PROJECT_DIRS) if (existsSync(join(root, top))) visit(top);
  return projects.sort((a, b) => a.path.localeCompare(b.path));
}

/** The flat config eslint.config.js exports (an array of config blocks). */
export async function loadEslintConfig(root: string): Promise<unknown[]> {
  return ((await import(pathToFileURL(join(root, ESLINT_CONFIG)).href)) as { default: unknown[] }).default;
}

interface DepConstraint {
  sourceTag?: string;
  onlyDependOnLibsWithTags?: string[];
}

/** The depConstraints of each config block that sets the module-boundaries rule. */
function constraintBlocks(config: unknown[]): DepConstraint[][] {
  return config.flatMap((block) => {
    const rule = (block as { rules?: Record<string, unknown> }).rules?.[RULE];
    if (!Array.isArray(rule)) return [];
    return [((rule[1] ?? {}) as { depConstraints?: DepConstraint[] }).depConstraints ?? []];
  });
}

const scopesOf = (p: NxProject) => p.tags.filter((t) => t.startsWith('scope:'));

/** Every way the projects and eslint.config.js are out of step with the topology, each saying which file to edit; [] when none. */
export function checkLintScopes(topology: Topology, eslintConfig: unknown[], projects: NxProject[]): string[] {
  const problems: string[] = [];
  const say = (p: string) => problems.push(p);
  const services = Object.keys(topology.services);
  const blocks = constraintBlocks(eslintConfig);
  if (!blocks.length) return [`${ESLINT_CONFIG}: no config block sets ${RULE}, so no scope keeps services apart; restore the module-boundaries rule`];
  const byPath = new Map(projects.map((p) => [p.path, p]));
  const scopeOfService = new Map<string, string>();

  for (const service of services) {
    const path = `apps/${service}`;
    const project = byPath.get(path);
    if (!project) {
      say(
        `${path}/project.json: missing; ${TOPOLOGY_FILE} declares ${service}, and every service is an Nx project at ${path} (one name per service everywhere)`,
      );
      continue;
    }
    if (project.name !== service)
      say(`${path}/project.json: names the project ${project.name ?? '(no name)'}; one name per service everywhere (set "name": "${service}")`);
    const scopes = scopesOf(project);
    const suggested = `scope:${service.replace(/-service$/, '')}`;
    if (scopes.length !== 1) {
      say(
        `${path}/project.json: has ${scopes.length ? `scope tags ${scopes.join(', ')}` : 'no scope: tag'}; a service has exactly one scope of its own (tags: ["${suggested}", "type:app"], and a rule for it in ${ESLINT_CONFIG})`,
      );
      continue;
    }
    const scope = scopes[0]!;
    scopeOfService.set(service, scope);
    if (blocks.some((b) => !b.some((c) => c.sourceTag === scope)))
      say(
        `${ESLINT_CONFIG}: no depConstraint for ${scope}, the scope of ${service} (${path}/project.json), so nothing stops it importing another service; ` +
          `add { sourceTag: '${scope}', onlyDependOnLibsWithTags: ['${scope}', 'scope:shared', 'scope:mesh'] } to scopeRules`,
      );
  }

  // Each service's scope is its own, and its rule reaches no other service's.
  const owners = new Map<string, string[]>();
  for (const [service, scope] of scopeOfService) owners.set(scope, [...(owners.get(scope) ?? []), service]);
  for (const [scope, shared] of owners)
    if (shared.length > 1)
      say(
        `${shared.map((s) => `apps/${s}/project.json`).join(' and ')} share ${scope}; a service never imports another service, so give each a scope of its own (and a rule in ${ESLINT_CONFIG})`,
      );
  for (const [service, scope] of scopeOfService) {
    const reached = new Set(blocks.flatMap((b) => b.filter((c) => c.sourceTag === scope).flatMap((c) => c.onlyDependOnLibsWithTags ?? [])));
    for (const [other, otherScope] of scopeOfService)
      if (other !== service && otherScope !== scope && reached.has(otherScope))
        say(
          `${ESLINT_CONFIG}: the ${scope} rule lets ${service} import ${otherScope}, the scope of ${other}; a service never imports another service (remove '${otherScope}' from its onlyDependOnLibsWithTags)`,
        );
  }

  // Service projects the topology does not declare, and rules for scopes no project carries.
  for (const p of projects) {
    const [top, dir, ...deeper] = p.path.split('/');
    if (top === 'apps' && dir && !deeper.length && !PLATFORM_APPS.has(dir) && !services.includes(dir))
      say(
        `${p.path}/project.json: ${dir} is an app of no service in ${TOPOLOGY_FILE} (nor one of the mesh's own: ${[...PLATFORM_APPS].join(', ')}); declare it in the topology or remove the project`,
      );
  }
  const carried = new Set(projects.flatMap(scopesOf));
  const ruled = new Set(blocks.flatMap((b) => b.map((c) => c.sourceTag ?? '')).filter((t) => t.startsWith('scope:')));
  for (const scope of ruled)
    if (!carried.has(scope))
      say(`${ESLINT_CONFIG}: the rule for ${scope} applies to no project (a service removed from ${TOPOLOGY_FILE}?); remove it from scopeRules`);
  return problems;
}
