// A mesh profile (MeshConfig YAML) against the topology: its services are the topology's, and its authorization rules allow exactly the calls the topology declares.
import { readdirSync } from 'node:fs';
import { parse } from 'yaml';
import type { Topology } from '@meshcart/topology';
import { formatLabels, repoPath, TOPOLOGY_FILE } from './workspace';

/** Where the profiles live: deploy/mesh, and the copies the Kubernetes base carries (made by `npx nx run k8s:mesh-config`). */
export const PROFILE_DIRS = ['deploy/mesh', 'deploy/k8s/base/mesh-config'] as const;

/** Every MeshConfig file in the profile folders, as repository paths. */
export function profileFiles(): string[] {
  return PROFILE_DIRS.flatMap((dir) =>
    readdirSync(repoPath(dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => `${dir}/${f}`),
  );
}

interface Rule {
  to?: string;
  from?: string[];
  methods?: string[];
  paths?: string[];
}
interface Profile {
  spec?: {
    services?: Record<string, { policy?: { subsets?: Record<string, Record<string, string>> } } | null>;
    authorization?: { defaultAction?: string; rules?: Rule[] };
    edge?: { routes?: { name?: string; service?: string }[] };
  };
}

/** Every (caller → callee) the topology declares: each service's calls, and the gateway's. */
export function declaredCalls(topology: Topology): Set<string> {
  const calls = new Set<string>();
  for (const [from, s] of Object.entries(topology.services)) for (const to of s.calls) calls.add(`${from} → ${to}`);
  for (const to of topology.gateway.calls) calls.add(`gateway → ${to}`);
  return calls;
}

const whereDeclared = (from: string) => (from === 'gateway' ? 'gateway.calls' : `services.${from}.calls`);
const describeRule = (r: Rule, n: number) =>
  `rule ${n} (to: ${r.to}, from: [${(r.from ?? []).join(', ')}]${r.paths ? `, paths: [${r.paths.join(', ')}]` : ''})`;

/** Every way one profile is out of step with the topology, each naming the service, rule or call and what to change; [] when none. */
export function checkMeshProfile(topology: Topology, file: string, text: string): string[] {
  const problems: string[] = [];
  const say = (p: string) => problems.push(`${file}: ${p}`);
  const profile = parse(text) as Profile;
  const services = Object.keys(topology.services);
  const regenerate = file.startsWith('deploy/k8s/')
    ? ` (this is a copy: fix deploy/mesh/${file.split('/').pop()}, then run \`npx nx run k8s:mesh-config\`)`
    : '';

  // spec.services: one entry per topology service, and no other.
  const inProfile = Object.keys(profile.spec?.services ?? {});
  for (const s of services)
    if (!inProfile.includes(s)) say(`spec.services lacks ${s}, which ${TOPOLOGY_FILE} declares; add \`${s}: {}\` under spec.services${regenerate}`);
  for (const s of inProfile)
    if (!services.includes(s))
      say(`spec.services has ${s}, which ${TOPOLOGY_FILE} does not declare; remove it from spec.services or declare it in the topology${regenerate}`);

  // Subsets (a canary's groups of instances) select instances the topology declares.
  for (const [s, spec] of Object.entries(profile.spec?.services ?? {})) {
    const instances = topology.services[s]?.instances;
    if (!instances) continue;
    for (const [subset, labels] of Object.entries(spec?.policy?.subsets ?? {})) {
      if (instances.some((i) => Object.entries(labels).every(([k, v]) => i.labels[k] === v))) continue;
      say(
        `spec.services.${s}.policy.subsets.${subset} selects ${formatLabels(labels)}, which no instance of ${s} carries in ${TOPOLOGY_FILE} ` +
          `(${instances.map((i) => `${i.name} ${formatLabels(i.labels) || '(no labels)'}`).join(', ')}), so it routes to nothing; declare such an instance or fix the subset's labels${regenerate}`,
      );
    }
  }

  // Authorization: default-deny, and the (from → to) pairs the rules allow are exactly the declared calls.
  const authz = profile.spec?.authorization;
  const declared = declaredCalls(topology);
  if (!authz || authz.defaultAction !== 'DENY') {
    say(
      `spec.authorization ${authz ? `has defaultAction ${authz.defaultAction}` : 'is missing'}, so every caller may call every service; ${TOPOLOGY_FILE} declares only ${[...declared].join(', ')} (set defaultAction: DENY with a rule per call)${regenerate}`,
    );
  }
  const callers = ['gateway', ...services];
  const allowed = new Map<string, number[]>();
  (authz?.rules ?? []).forEach((rule, index) => {
    const n = index + 1;
    const to = rule.to ?? '';
    if (!services.includes(to)) {
      say(
        `${describeRule(rule, n)} in spec.authorization.rules is for ${to}, which ${TOPOLOGY_FILE} does not declare; remove the rule or declare the service${regenerate}`,
      );
      return;
    }
    for (const from of rule.from ?? []) {
      if (from === '*') {
        const undeclared = callers.filter((c) => c !== to && !declared.has(`${c} → ${to}`));
        if (undeclared.length)
          say(
            `${describeRule(rule, n)} in spec.authorization.rules lets any caller call ${to}, but ${TOPOLOGY_FILE} declares no call to it from ${undeclared.join(', ')}; ` +
              `replace "*" with [${callers.filter((c) => declared.has(`${c} → ${to}`)).join(', ')}]${regenerate}`,
          );
        for (const c of callers) if (declared.has(`${c} → ${to}`)) allowed.set(`${c} → ${to}`, [...(allowed.get(`${c} → ${to}`) ?? []), n]);
        continue;
      }
      const pair = `${from} → ${to}`;
      allowed.set(pair, [...(allowed.get(pair) ?? []), n]);
      if (!callers.includes(from))
        say(
          `${describeRule(rule, n)} in spec.authorization.rules lets ${from} call ${to}, but ${TOPOLOGY_FILE} declares no ${from}; remove ${from} from the rule's from${regenerate}`,
        );
      else if (!declared.has(pair))
        say(
          `${describeRule(rule, n)} in spec.authorization.rules lets ${from} call ${to}, which ${TOPOLOGY_FILE} does not declare (${whereDeclared(from)}); ` +
            `remove ${from} from the rule's from${(rule.from ?? []).length === 1 ? ' (and so the rule)' : ''}, or add ${to} to ${whereDeclared(from)}${regenerate}`,
        );
    }
  });
  for (const pair of declared) {
    if (allowed.has(pair)) continue;
    const [from, to] = pair.split(' → ') as [string, string];
    say(
      `no rule in spec.authorization.rules lets ${from} call ${to}, which ${TOPOLOGY_FILE} declares (${whereDeclared(from)}); ` +
        `add a rule \`- to: ${to}, from: [${from}]\` with the paths it calls, or remove ${to} from ${whereDeclared(from)}${regenerate}`,
    );
  }

  // The gateway's public routes reach only services it may call.
  for (const route of profile.spec?.edge?.routes ?? []) {
    if (route.service && !topology.gateway.calls.includes(route.service))
      say(
        `edge route ${route.name} sends the gateway to ${route.service}, which is not in the gateway's calls in ${TOPOLOGY_FILE}; add ${route.service} to gateway.calls or remove the route${regenerate}`,
      );
  }
  return problems;
}
