// The Kubernetes base (and its proxyless component) against the topology: a Deployment, Service and ServiceAccount per service, each at the topology's port and labels, and no Deployment of an undeclared service.
import type { Topology } from '@meshcart/topology';
import type { K8sObject } from './kubernetes-render';
import { formatLabels, labelSetsOf, parseLabelList, PLATFORM_ROLES, sameLabels, TOPOLOGY_FILE } from './workspace';

export const K8S_BASE = 'deploy/k8s/base';
export const PROXYLESS = 'deploy/k8s/components/proxyless';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}
interface Probe {
  exec?: { command?: string[] };
  httpGet?: { port?: number | string };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface PodSpec {
  serviceAccountName?: string;
  initContainers?: Container[];
  containers?: Container[];
}

const podOf = (d: K8sObject): PodSpec => d.spec?.template?.spec ?? {};
const podLabelsOf = (d: K8sObject): Record<string, string> => d.spec?.template?.metadata?.labels ?? {};
const containersOf = (d: K8sObject): Container[] => [...(podOf(d).initContainers ?? []), ...(podOf(d).containers ?? [])];
/** The image's entrypoint takes the role as its first argument (`args: [product-service]`). */
const roleOf = (c: Container) => c.args?.[0];
const envOf = (c: Container): Record<string, string> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom ? '(set from the pod)' : '')]));
const fileOf = (o: K8sObject) => o.source ?? K8S_BASE;

/**
 * MESH_LABELS as the kubelet expands it: `$(NAME)` from the container's own env, where a downward-API
 * reference to a pod label (`metadata.labels['version']`) reads the pod template's label.
 */
function meshLabelsOf(c: Container, d: K8sObject): string | undefined {
  const raw = (c.env ?? []).find((e) => e.name === 'MESH_LABELS')?.value;
  if (raw === undefined) return undefined;
  return raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
    const e = (c.env ?? []).find((x) => x.name === name);
    if (e?.value !== undefined) return e.value;
    const label = /^metadata\.labels\['([^']+)'\]$/.exec(e?.valueFrom?.fieldRef?.fieldPath ?? '')?.[1];
    return label !== undefined ? (podLabelsOf(d)[label] ?? '') : whole;
  });
}
const sidecarsOf = (d: K8sObject) => containersOf(d).filter((c) => roleOf(c) === 'sidecar');

/** The shop service a Deployment runs: its app container's role, or else what its sidecar proxies. */
export function serviceOfDeployment(d: K8sObject): string | undefined {
  const app = containersOf(d).find((c) => roleOf(c) && !PLATFORM_ROLES.has(roleOf(c)!));
  return app ? roleOf(app) : sidecarsOf(d).map((c) => envOf(c)['MESH_SERVICE'])[0];
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every way the rendered base (`base`) and base + proxyless component (`proxyless`) are out of step with the topology; [] when none. */
export function checkKubernetes(topology: Topology, renders: { base: K8sObject[]; proxyless: K8sObject[] }): string[] {
  const problems: string[] = [];
  const say = (p: string) => problems.push(p);
  const { base, proxyless } = renders;
  const services = Object.keys(topology.services);
  const of = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
  const deploymentsOf = (objects: K8sObject[], service: string) => of(objects, 'Deployment').filter((d) => serviceOfDeployment(d) === service);
  const example = services.map((s) => deploymentsOf(base, s)[0]).find(Boolean);
  const exampleFile = example ? fileOf(example) : `${K8S_BASE}/<service>.yaml`;
  const accountsFile = of(base, 'ServiceAccount').map(fileOf)[0] ?? `${K8S_BASE}/service-accounts.yaml`;

  for (const service of services) {
    const { port, instances } = topology.services[service]!;
    const P = String(port);
    const deployments = deploymentsOf(base, service);
    if (!deployments.length) {
      say(
        `${K8S_BASE}: no Deployment runs ${service}, which ${TOPOLOGY_FILE} declares (port ${port}); add ${K8S_BASE}/${service}.yaml ` +
          `(copy ${exampleFile}: Deployment, Service and PodDisruptionBudget, renamed, with port ${port}) and list it under resources in ${K8S_BASE}/kustomization.yaml`,
      );
    }
    const svc = of(base, 'Service').find((s) => s.metadata.name === service);
    if (!svc)
      say(`${K8S_BASE}: no Service ${service}, which ${TOPOLOGY_FILE} declares; add one to ${K8S_BASE}/${service}.yaml (as in ${exampleFile})`);
    if (!of(base, 'ServiceAccount').some((a) => a.metadata.name === service))
      say(
        `${accountsFile}: no ServiceAccount ${service}, the identity of ${service} in ${TOPOLOGY_FILE}; add one (copy another, with meshcart.io/spiffe-id ending /sa/${service})`,
      );

    const labelSets = labelSetsOf(topology, service);
    const labelsRequired = labelSets.length > 1;
    const labelKeys = new Set(instances.flatMap((i) => Object.keys(i.labels)));

    for (const d of deployments) {
      const file = fileOf(d);
      const where = `${file}: Deployment ${d.metadata.name}`;
      const pod = podOf(d);
      if (pod.serviceAccountName !== service)
        say(
          `${where} runs as ServiceAccount ${pod.serviceAccountName ?? '(default)'}; ${service}'s pods prove ${service}'s identity (set serviceAccountName: ${service})`,
        );
      if (svc && !selects(svc.spec?.selector ?? {}, podLabelsOf(d)))
        say(
          `${where}: its pods are not selected by Service ${service} (selector ${formatLabels(svc.spec?.selector ?? {})}); give the pod template those labels`,
        );

      const apps = containersOf(d).filter((c) => roleOf(c) === service);
      for (const app of apps) {
        const at = `${where} container ${app.name}`;
        const appPort = app.ports?.find((p) => p.name === 'app');
        if (!appPort)
          say(`${at} declares no port named app; ${TOPOLOGY_FILE} gives ${service} port ${port} (add { name: app, containerPort: ${port} })`);
        else if (appPort.containerPort !== port)
          say(`${at} has containerPort ${appPort.containerPort} (app); ${TOPOLOGY_FILE} gives ${service} port ${port} (edit one to match the other)`);
        const env = envOf(app);
        if (env['PORT'] === undefined)
          say(`${at} sets no PORT; ${TOPOLOGY_FILE} gives ${service} port ${port} (add { name: PORT, value: "${port}" })`);
        else if (env['PORT'] !== P)
          say(`${at} has PORT=${env['PORT']}; ${TOPOLOGY_FILE} gives ${service} port ${port} (edit one to match the other)`);
        for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
          const probe = app[kind];
          const asked = [...(probe?.exec?.command ?? []).join(' ').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]!);
          if (typeof probe?.httpGet?.port === 'number') asked.push(String(probe.httpGet.port));
          for (const n of asked)
            if (n !== P) say(`${at}'s ${kind} asks port ${n}; ${TOPOLOGY_FILE} gives ${service} port ${port} (edit one to match the other)`);
        }
        if ((env['MESH_MODE'] ?? 'sidecar') === 'sidecar' && !sidecarsOf(d).length)
          say(`${where} runs ${service} with MESH_MODE=sidecar but has no sidecar container; add the sidecar initContainer (as in ${exampleFile})`);
      }
      if (!apps.length)
        say(`${where} has a sidecar for ${service} but no container running it (args: [${service}]); add the app container (as in ${exampleFile})`);
      for (const sidecar of sidecarsOf(d)) {
        const env = envOf(sidecar);
        const at = `${where} container ${sidecar.name}`;
        if (env['MESH_SERVICE'] !== service)
          say(
            `${at} has MESH_SERVICE=${env['MESH_SERVICE'] ?? '(unset)'} beside ${service}'s app; ${TOPOLOGY_FILE} declares ${service} (set MESH_SERVICE: ${service})`,
          );
        if (env['APP_PORT'] === undefined)
          say(`${at} sets no APP_PORT; ${TOPOLOGY_FILE} gives ${service} port ${port} (add { name: APP_PORT, value: "${port}" })`);
        else if (env['APP_PORT'] !== P)
          say(`${at} has APP_PORT=${env['APP_PORT']}; ${TOPOLOGY_FILE} gives ${service} port ${port} (edit one to match the other)`);
      }

      // Labels: what the pod's proxy registers (MESH_LABELS) and what the pod is labelled, if the manifests carry them.
      const primary = d.metadata.name === service;
      const firstLabels = instances[0]!.labels;
      let carried: Record<string, string> | undefined;
      for (const c of [...sidecarsOf(d), ...apps]) {
        const raw = meshLabelsOf(c, d);
        if (raw === undefined) continue;
        const at = `${where} container ${c.name}`;
        const have = parseLabelList(raw);
        if (!have) say(`${at} has MESH_LABELS=${raw}, which is not a list like "version=v1,zone=a"`);
        else if (primary && !sameLabels(have, firstLabels))
          say(
            `${at} has MESH_LABELS=${raw}; ${TOPOLOGY_FILE} labels ${service}'s first instance (${instances[0]!.name}) ${formatLabels(firstLabels)} (edit one to match the other)`,
          );
        else if (!labelSets.some((l) => sameLabels(have, l)))
          say(
            `${at} has MESH_LABELS=${raw}, the labels of no instance of ${service} in ${TOPOLOGY_FILE} (${labelSets.map(formatLabels).join('; ')}); edit one to match the other`,
          );
        else carried ??= have;
      }
      if (labelsRequired)
        for (const c of sidecarsOf(d))
          if (envOf(c)['MESH_LABELS'] === undefined)
            say(
              `${where} container ${c.name} sets no MESH_LABELS; ${service}'s instances differ in labels in ${TOPOLOGY_FILE} (${labelSets.map(formatLabels).join('; ')}), so the mesh routes on them ` +
                `(add { name: MESH_LABELS, value: "${formatLabels(primary ? firstLabels : (carried ?? firstLabels))}" })`,
            );
      const expectedPodLabels = carried ?? (primary ? firstLabels : undefined);
      for (const [k, v] of Object.entries(podLabelsOf(d)))
        if (labelKeys.has(k) && expectedPodLabels && expectedPodLabels[k] !== v)
          say(
            `${where}'s pods are labelled ${k}=${v}; ${TOPOLOGY_FILE} labels ${service}'s instance ${formatLabels(expectedPodLabels)} here (edit one to match the other)`,
          );
    }

    // A canary instance (labels other than the first instance's) runs under npm start and compose. On
    // Kubernetes it would need a Deployment of its own and, while each pod keeps its data in SQLite,
    // a catalog of its own too: it is not required there.

    // The proxyless component: the same Deployments, without sidecars.
    for (const d of deploymentsOf(proxyless, service)) {
      const app = containersOf(d).find((c) => roleOf(c) === service);
      if (sidecarsOf(d).length || envOf(app ?? { name: '' })['MESH_MODE'] !== 'proxyless')
        say(
          `${PROXYLESS}: with the component, Deployment ${d.metadata.name} still runs ${service} beside a sidecar; add ${PROXYLESS}/${d.metadata.name}.yaml ` +
            `(copy another patch there, renamed) and list it under patches in ${PROXYLESS}/kustomization.yaml`,
        );
      else if (labelsRequired && app && envOf(app)['MESH_LABELS'] === undefined)
        say(
          `${fileOf(d)}: Deployment ${d.metadata.name} container ${app.name} sets no MESH_LABELS, which it registers with when proxyless; ${service}'s instances differ in labels in ${TOPOLOGY_FILE} (add it beside the sidecar's)`,
        );
    }
  }

  // The gateway, and nothing the topology does not declare.
  for (const kind of ['Deployment', 'Service', 'ServiceAccount'])
    if (!of(base, kind).some((o) => o.metadata.name === 'gateway'))
      say(`${K8S_BASE}: no ${kind} gateway (the shop's edge, which calls ${topology.gateway.calls.join(', ')})`);
  for (const d of of(base, 'Deployment')) {
    const service = serviceOfDeployment(d);
    if (service && !services.includes(service))
      say(
        `${fileOf(d)}: Deployment ${d.metadata.name} runs ${service}, which ${TOPOLOGY_FILE} does not declare; declare it there, or remove the Deployment (its file's entry in ${K8S_BASE}/kustomization.yaml, and its ServiceAccount)`,
      );
  }
  for (const s of of(base, 'Service'))
    if (s.metadata.labels?.['app.kubernetes.io/component'] === 'service' && !services.includes(s.metadata.name))
      say(
        `${fileOf(s)}: Service ${s.metadata.name} is a shop service's, but ${TOPOLOGY_FILE} declares no ${s.metadata.name}; declare it there or remove the Service`,
      );
  for (const a of of(base, 'ServiceAccount'))
    if (!['control-plane', 'gateway', ...services].includes(a.metadata.name))
      say(
        `${fileOf(a)}: ServiceAccount ${a.metadata.name} is the identity of no service in ${TOPOLOGY_FILE} (nor the gateway or control plane); declare the service or remove it`,
      );
  return problems;
}
