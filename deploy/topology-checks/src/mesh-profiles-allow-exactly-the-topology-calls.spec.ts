import { callersOf } from '@meshcart/topology';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addInstance, addProbeService, beyond, edit, withTopology } from './drift-fixtures';
import { checkMeshProfile, profileFiles } from './mesh-profile-check';
import { expectNoDrift, readRepoFile, realTopology } from './workspace';

const topology = realTopology();
const OPTIMIZED = 'deploy/mesh/optimized.yaml';
const optimized = readRepoFile(OPTIMIZED);
/** A broken copy's problems, less the real file's. */
const check = (t: typeof topology, file: string, text: string) =>
  beyond(checkMeshProfile(topology, file, readRepoFile(file)))(checkMeshProfile(t, file, text));
// What the messages list depends on the services a fork has added (npm run new-service): read it from the real files.
const ruleCount = (parse(optimized) as { spec: { authorization: { rules: unknown[] } } }).spec.authorization.rules.length;
const notCallers = (service: string) =>
  ['gateway', ...Object.keys(topology.services)].filter((c) => c !== service && !callersOf(topology, service).includes(c)).join(', ');
const declaredCalls = [
  ...Object.entries(topology.services).flatMap(([s, v]) => v.calls.map((c) => `${s} → ${c}`)),
  ...topology.gateway.calls.map((c) => `gateway → ${c}`),
].join(', ');

describe('the mesh profiles against deploy/topology.yaml', () => {
  it('finds the profiles of deploy/mesh and their copies in the Kubernetes base', () => {
    expect(profileFiles()).toEqual(expect.arrayContaining([OPTIMIZED, 'deploy/mesh/baseline.yaml', 'deploy/k8s/base/mesh-config/optimized.yaml']));
  });

  for (const file of profileFiles()) {
    it(`${file} lists the topology's services and allows exactly its calls`, () => {
      expectNoDrift(checkMeshProfile(topology, file, readRepoFile(file)));
    });
  }

  describe('names what is out of step in a broken copy', () => {
    it('a rule allowing a call the topology does not declare', () => {
      const broken = edit(
        optimized,
        '      - to: payment-service\n        from: [order-service]',
        '      - to: payment-service\n        from: [order-service, gateway]',
      );
      expect(check(topology, OPTIMIZED, broken)).toEqual([
        "deploy/mesh/optimized.yaml: rule 7 (to: payment-service, from: [order-service, gateway], paths: [/charges, /charges/*]) in spec.authorization.rules lets gateway call payment-service, which deploy/topology.yaml does not declare (gateway.calls); remove gateway from the rule's from, or add payment-service to gateway.calls",
      ]);
    });

    it('a declared call no rule allows', () => {
      const broken = edit(optimized, '      - to: payment-service\n        from: [order-service]\n        paths: [/charges, /charges/*]\n', '');
      expect(check(topology, OPTIMIZED, broken)).toEqual([
        'deploy/mesh/optimized.yaml: no rule in spec.authorization.rules lets order-service call payment-service, which deploy/topology.yaml declares (services.order-service.calls); add a rule `- to: payment-service, from: [order-service]` with the paths it calls, or remove payment-service from services.order-service.calls',
      ]);
    });

    it('a wildcard caller', () => {
      const broken = edit(
        optimized,
        '      - to: payment-service\n        from: [order-service]',
        '      - to: payment-service\n        from: ["*"]',
      );
      expect(check(topology, OPTIMIZED, broken)).toEqual([
        `deploy/mesh/optimized.yaml: rule 7 (to: payment-service, from: [*], paths: [/charges, /charges/*]) in spec.authorization.rules lets any caller call payment-service, but deploy/topology.yaml declares no call to it from ${notCallers('payment-service')}; replace "*" with [order-service]`,
      ]);
    });

    it('an allow-by-default profile', () => {
      const broken = edit(optimized, 'defaultAction: DENY', 'defaultAction: ALLOW');
      expect(check(topology, OPTIMIZED, broken)).toEqual([
        `deploy/mesh/optimized.yaml: spec.authorization has defaultAction ALLOW, so every caller may call every service; deploy/topology.yaml declares only ${declaredCalls} (set defaultAction: DENY with a rule per call)`,
      ]);
    });

    it('services missing from and extra in spec.services, and a rule for an undeclared service', () => {
      const broken = edit(
        edit(optimized, '    payment-service: {}\n', '    probe-service: {}\n'),
        '  defaults:\n',
        '      - to: probe-service\n        from: [gateway]\n  defaults:\n',
      );
      expect(check(topology, OPTIMIZED, broken)).toEqual([
        'deploy/mesh/optimized.yaml: spec.services lacks payment-service, which deploy/topology.yaml declares; add `payment-service: {}` under spec.services',
        'deploy/mesh/optimized.yaml: spec.services has probe-service, which deploy/topology.yaml does not declare; remove it from spec.services or declare it in the topology',
        `deploy/mesh/optimized.yaml: rule ${ruleCount + 1} (to: probe-service, from: [gateway]) in spec.authorization.rules is for probe-service, which deploy/topology.yaml does not declare; remove the rule or declare the service`,
      ]);
    });

    it('an edge route to a service the gateway does not call', () => {
      const noOrders = withTopology(topology, (t) => {
        t.gateway.calls = t.gateway.calls.filter((c) => c !== 'order-service');
      });
      expect(check(noOrders, OPTIMIZED, optimized)).toEqual([
        "deploy/mesh/optimized.yaml: rule 6 (to: order-service, from: [gateway], paths: [/orders, /orders/*]) in spec.authorization.rules lets gateway call order-service, which deploy/topology.yaml does not declare (gateway.calls); remove gateway from the rule's from (and so the rule), or add order-service to gateway.calls",
        "deploy/mesh/optimized.yaml: edge route orders sends the gateway to order-service, which is not in the gateway's calls in deploy/topology.yaml; add order-service to gateway.calls or remove the route",
      ]);
    });

    it('a canary subset that selects no instance', () => {
      const broken = edit(
        optimized,
        '    user-service: {}\n',
        '    user-service:\n      policy:\n        subsets: { stable: { version: v1 }, canary: { version: v2 } }\n',
      );
      expect(check(topology, OPTIMIZED, broken)).toEqual([
        "deploy/mesh/optimized.yaml: spec.services.user-service.policy.subsets.canary selects version=v2, which no instance of user-service carries in deploy/topology.yaml (user-service-1 version=v1), so it routes to nothing; declare such an instance or fix the subset's labels",
      ]);
      expect(check(addInstance(topology, 'user-service', 'user-service-v2-1', { version: 'v2' }), OPTIMIZED, broken)).toEqual([]);
    });

    it('a copy in the Kubernetes base says to fix deploy/mesh and regenerate', () => {
      const file = 'deploy/k8s/base/mesh-config/baseline.yaml';
      const broken = edit(readRepoFile(file), '    user-service: {}\n', '');
      expect(check(topology, file, broken)).toEqual([
        'deploy/k8s/base/mesh-config/baseline.yaml: spec.services lacks user-service, which deploy/topology.yaml declares; add `user-service: {}` under spec.services (this is a copy: fix deploy/mesh/baseline.yaml, then run `npx nx run k8s:mesh-config`)',
      ]);
    });

    it('a new service declared in the topology only', () => {
      expect(check(addProbeService(topology), OPTIMIZED, optimized)).toEqual([
        'deploy/mesh/optimized.yaml: spec.services lacks probe-service, which deploy/topology.yaml declares; add `probe-service: {}` under spec.services',
        'deploy/mesh/optimized.yaml: no rule in spec.authorization.rules lets probe-service call product-service, which deploy/topology.yaml declares (services.probe-service.calls); add a rule `- to: product-service, from: [probe-service]` with the paths it calls, or remove product-service from services.probe-service.calls',
        'deploy/mesh/optimized.yaml: no rule in spec.authorization.rules lets gateway call probe-service, which deploy/topology.yaml declares (gateway.calls); add a rule `- to: probe-service, from: [gateway]` with the paths it calls, or remove probe-service from gateway.calls',
      ]);
    });
  });
});
