import { beforeAll, describe, expect, it } from 'vitest';
import { addProbeService, beyond } from './drift-fixtures';
import { checkLintScopes, loadEslintConfig, readProjects, type NxProject } from './lint-scope-check';
import { expectNoDrift, REPO_ROOT, realTopology } from './workspace';

const topology = realTopology();
const projects = readProjects(REPO_ROOT);
let eslintConfig: unknown[];
beforeAll(async () => {
  eslintConfig = await loadEslintConfig(REPO_ROOT);
});

type Constraint = { sourceTag?: string; onlyDependOnLibsWithTags?: string[] };
/** eslint.config.js's blocks with each module-boundaries depConstraints list changed by `change`: the real file stays as it is. */
const withConstraints = (change: (constraints: Constraint[]) => Constraint[]) =>
  eslintConfig.map((block) => {
    const b = block as { rules?: Record<string, unknown> };
    const rule = b.rules?.['@nx/enforce-module-boundaries'];
    if (!Array.isArray(rule)) return block;
    const options = rule[1] as { depConstraints: Constraint[] };
    return {
      ...b,
      rules: { ...b.rules, '@nx/enforce-module-boundaries': [rule[0], { ...options, depConstraints: change(options.depConstraints) }] },
    };
  });
/** A broken copy's problems, less the real files'. */
const check = (t: typeof topology, config: unknown[], broken: NxProject[]) =>
  beyond(checkLintScopes(topology, eslintConfig, projects))(checkLintScopes(t, config, broken));
const withProject = (path: string, change: (p: NxProject) => NxProject) => projects.map((p) => (p.path === path ? change(p) : p));

describe('the Nx projects and lint scopes against deploy/topology.yaml', () => {
  it('finds the service projects', () => {
    expect(projects.map((p) => p.path)).toEqual(expect.arrayContaining(Object.keys(topology.services).map((s) => `apps/${s}`)));
  });

  it('gives every topology service a project at apps/<service> with a scope of its own that eslint.config.js constrains', () => {
    expectNoDrift(checkLintScopes(topology, eslintConfig, projects));
  });

  describe('names what is out of step in a broken copy', () => {
    it("a service's scope without a rule", () => {
      expect(
        check(
          topology,
          withConstraints((cs) => cs.filter((c) => c.sourceTag !== 'scope:payment')),
          projects,
        ),
      ).toEqual([
        "eslint.config.js: no depConstraint for scope:payment, the scope of payment-service (apps/payment-service/project.json), so nothing stops it importing another service; add { sourceTag: 'scope:payment', onlyDependOnLibsWithTags: ['scope:payment', 'scope:shared', 'scope:mesh'] } to scopeRules",
      ]);
    });

    it("a rule that lets one service import another's scope", () => {
      const config = withConstraints((cs) =>
        cs.map((c) =>
          c.sourceTag === 'scope:order' ? { ...c, onlyDependOnLibsWithTags: [...(c.onlyDependOnLibsWithTags ?? []), 'scope:payment'] } : c,
        ),
      );
      expect(check(topology, config, projects)).toEqual([
        "eslint.config.js: the scope:order rule lets order-service import scope:payment, the scope of payment-service; a service never imports another service (remove 'scope:payment' from its onlyDependOnLibsWithTags)",
      ]);
    });

    it('a project named otherwise, and one without a scope', () => {
      const broken = withProject('apps/user-service', (p) => ({ ...p, name: 'users' })).map((p) =>
        p.path === 'apps/product-service' ? { ...p, tags: ['type:app'] } : p,
      );
      expect(check(topology, eslintConfig, broken)).toEqual([
        'apps/user-service/project.json: names the project users; one name per service everywhere (set "name": "user-service")',
        'apps/product-service/project.json: has no scope: tag; a service has exactly one scope of its own (tags: ["scope:product", "type:app"], and a rule for it in eslint.config.js)',
        'eslint.config.js: the rule for scope:product applies to no project (a service removed from deploy/topology.yaml?); remove it from scopeRules',
      ]);
    });

    it('two services sharing a scope', () => {
      const broken = withProject('apps/payment-service', (p) => ({ ...p, tags: ['scope:order', 'type:app'] }));
      expect(check(topology, eslintConfig, broken)).toEqual([
        'apps/order-service/project.json and apps/payment-service/project.json share scope:order; a service never imports another service, so give each a scope of its own (and a rule in eslint.config.js)',
        'eslint.config.js: the rule for scope:payment applies to no project (a service removed from deploy/topology.yaml?); remove it from scopeRules',
      ]);
    });

    it('an app of a service the topology does not declare', () => {
      const broken = [...projects, { path: 'apps/probe-service', name: 'probe-service', tags: ['scope:probe', 'type:app'] }];
      expect(check(topology, eslintConfig, broken)).toEqual([
        "apps/probe-service/project.json: probe-service is an app of no service in deploy/topology.yaml (nor one of the mesh's own: control-plane, dashboard, gateway, local-mesh, meshctl, sidecar); declare it in the topology or remove the project",
      ]);
    });

    it('a new service declared in the topology only', () => {
      expect(check(addProbeService(topology), eslintConfig, projects)).toEqual([
        'apps/probe-service/project.json: missing; deploy/topology.yaml declares probe-service, and every service is an Nx project at apps/probe-service (one name per service everywhere)',
      ]);
    });
  });
});
