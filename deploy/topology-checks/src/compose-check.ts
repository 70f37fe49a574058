// docker-compose.yml against the topology: a container and a sidecar per instance, each saying the topology's service, instance, labels and port, and no shop service the topology does not declare.
import { parse } from 'yaml';
import { instancesOf, type InstanceSpec, type Topology } from '@meshcart/topology';
import { formatLabels, labelSetsOf, parseLabelList, PLATFORM_ROLES, sameLabels, TOPOLOGY_FILE } from './workspace';

export const COMPOSE_FILE = 'docker-compose.yml';

type Env = Record<string, string | number | boolean | null> | string[];
type Volume = string | { type?: string; source?: string; target?: string; read_only?: boolean };
export interface ComposeContainer {
  image?: string;
  entrypoint?: string | string[];
  command?: string | string[];
  environment?: Env;
  network_mode?: string;
  volumes?: Volume[];
  depends_on?: string[] | Record<string, unknown>;
}
interface ComposeFile {
  services?: Record<string, ComposeContainer>;
  volumes?: Record<string, unknown>;
}

/**
 * The compose container an instance runs in. docker-compose.yml names the only container of a
 * single-instance service after the service (`user-service`: the short name readers and the
 * Prometheus targets know), and each container of a service with several instances after its
 * instance (`product-service-1`, `product-service-2`). Its sidecar is the container's name plus
 * `-sidecar`, sharing its network namespace (`network_mode: service:<container>`).
 */
export function composeContainerOf(topology: Topology, instance: InstanceSpec): string {
  return topology.services[instance.service]!.instances.length === 1 ? instance.service : instance.instance;
}
export const sidecarOf = (container: string) => `${container}-sidecar`;

/** A service's join credential: a volume the control plane writes and only that service's containers mount. */
const joinVolume = (service: string) => `join-${service}`;
const joinDir = (service: string) => `/join/${service}`;

function envOf(c: ComposeContainer): Record<string, string> {
  const env = c.environment;
  if (!env) return {};
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.includes('=') ? e.slice(e.indexOf('=') + 1) : ''] as [string, string]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const words = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : v.split(/\s+/).filter(Boolean));
const count = (n: number, noun: string) => `${n === 1 ? 'one' : n} ${noun}${n === 1 ? '' : 's'}`;
const shown = (v: string | string[] | undefined) => `[${words(v).join(', ')}]`;

/** The image role a container runs (its command's first word), if it runs the MeshCart image's own entrypoint. */
function roleOf(c: ComposeContainer): string | undefined {
  if (!c.image?.includes('meshcart') || c.entrypoint !== undefined) return undefined;
  return words(c.command)[0];
}

function volumesOf(c: ComposeContainer): { source: string; target: string; readOnly: boolean }[] {
  return (c.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target ?? '', readOnly: !!v.read_only };
    const [source = '', target = '', mode = ''] = v.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

/** What the topology says of the instance in `container`. */
const names = (container: string, i: InstanceSpec) =>
  container === i.instance ? `names ${i.instance}` : `names the instance in ${container} ${i.instance}`;

const dependsOn = (c: ComposeContainer) => (Array.isArray(c.depends_on) ? c.depends_on : Object.keys(c.depends_on ?? {}));

/** Every way docker-compose.yml is out of step with the topology, each saying what to change; [] when none. */
export function checkCompose(topology: Topology, composeText: string, file = COMPOSE_FILE): string[] {
  const compose = parse(composeText, { merge: true }) as ComposeFile;
  const containers = compose.services ?? {};
  const problems: string[] = [];
  const say = (p: string) => problems.push(`${file}: ${p}`);
  const services = Object.keys(topology.services);
  const instances = instancesOf(topology);

  const expected = new Map(instances.map((i) => [composeContainerOf(topology, i), i]));
  const expectedSidecars = new Set([...expected.keys()].map(sidecarOf));
  // Containers that say they are an instance (MESH_INSTANCE) but are named otherwise: reported once, as a rename.
  const renamed = new Set<string>();

  /** An env variable that must equal what the topology says (`topologySays`, as a reader would put it). */
  const expectEnv = (container: string, env: Record<string, string>, name: string, want: string, topologySays: string) => {
    const have = env[name];
    if (have === undefined) say(`${container} sets no ${name}; ${TOPOLOGY_FILE} ${topologySays} (set ${name}: "${want}")`);
    else if (have !== want) say(`${container} has ${name}=${have}; ${TOPOLOGY_FILE} ${topologySays} (edit one to match the other)`);
  };

  const labelsRequired = (service: string) =>
    labelSetsOf(topology, service).length > 1 ||
    Object.values(containers).some((c) => envOf(c)['MESH_LABELS'] !== undefined && (roleOf(c) === service || envOf(c)['MESH_SERVICE'] === service));

  const expectLabels = (container: string, env: Record<string, string>, i: InstanceSpec) => {
    const want = formatLabels(i.labels);
    const raw = env['MESH_LABELS'];
    const says = `labels ${i.instance} ${want || '(none)'}`;
    if (raw === undefined) {
      if (!labelsRequired(i.service)) return;
      const why =
        labelSetsOf(topology, i.service).length > 1
          ? `${i.service}'s instances differ in labels, so the mesh routes on them`
          : `the other containers of ${i.service} set MESH_LABELS`;
      say(`${container} sets no MESH_LABELS; ${TOPOLOGY_FILE} ${says}, and ${why} (set MESH_LABELS: "${want}")`);
      return;
    }
    const have = parseLabelList(raw);
    if (!have)
      say(`${container} has MESH_LABELS=${raw}, which is not a list like "version=v1,zone=a"; ${TOPOLOGY_FILE} ${says} (set MESH_LABELS: "${want}")`);
    else if (!sameLabels(have, i.labels)) say(`${container} has MESH_LABELS=${raw}; ${TOPOLOGY_FILE} ${says} (edit one to match the other)`);
  };

  for (const i of instances) {
    const name = composeContainerOf(topology, i);
    const port = String(topology.services[i.service]!.port);
    const app = containers[name];
    if (!app) {
      const elsewhere = Object.entries(containers).find(
        ([n, c]) => roleOf(c) === i.service && envOf(c)['MESH_INSTANCE'] === i.instance && n !== name,
      );
      if (elsewhere) {
        renamed.add(elsewhere[0]);
        renamed.add(sidecarOf(elsewhere[0]));
        say(
          `instance ${i.instance} runs in container ${elsewhere[0]}, but ${i.service} has ${count(topology.services[i.service]!.instances.length, 'instance')} in ${TOPOLOGY_FILE}, so its container is named ${name} ` +
            `(single-instance services are named after the service, replicas after their instance): rename ${elsewhere[0]} to ${name} and ${sidecarOf(elsewhere[0])} to ${sidecarOf(name)}, with their network_mode, depends_on and ADVERTISE_HOST`,
        );
      } else {
        const sibling = Object.keys(containers).find((n) => roleOf(containers[n]!) === i.service);
        say(
          `no container ${name} for instance ${i.instance} of ${i.service} (${TOPOLOGY_FILE}); add ${name} and ${sidecarOf(name)}` +
            (sibling ? ` (copy ${sibling} and ${sidecarOf(sibling)}, renamed` : ` (copy another service's pair, with command [${i.service}]`) +
            `; MESH_INSTANCE=${i.instance}, PORT and APP_PORT ${port}${Object.keys(i.labels).length ? `, MESH_LABELS=${formatLabels(i.labels)}` : ''}), and list ${sidecarOf(name)} in gateway's depends_on`,
        );
      }
      continue;
    }
    const env = envOf(app);
    if (roleOf(app) !== i.service)
      say(`${name} runs command ${shown(app.command)}; ${TOPOLOGY_FILE} puts instance ${i.instance} in ${i.service} (set command: [${i.service}])`);
    expectEnv(name, env, 'MESH_INSTANCE', i.instance, names(name, i));
    expectEnv(name, env, 'PORT', port, `gives ${i.service} port ${port}`);
    expectLabels(name, env, i);

    const sidecarName = sidecarOf(name);
    const sidecar = containers[sidecarName];
    if (!sidecar) {
      say(
        `no container ${sidecarName}, the sidecar of ${name} (instance ${i.instance} of ${i.service} in ${TOPOLOGY_FILE}); add it (copy another sidecar, with network_mode: service:${name})`,
      );
      continue;
    }
    const senv = envOf(sidecar);
    if (roleOf(sidecar) !== 'sidecar') say(`${sidecarName} runs command ${shown(sidecar.command)}; it is ${name}'s sidecar (set command: [sidecar])`);
    if (sidecar.network_mode !== `service:${name}`)
      say(
        `${sidecarName} has network_mode ${sidecar.network_mode ?? '(none)'}; a sidecar shares its app's network namespace (set network_mode: service:${name})`,
      );
    expectEnv(sidecarName, senv, 'MESH_SERVICE', i.service, `puts instance ${i.instance} in ${i.service}`);
    expectEnv(sidecarName, senv, 'MESH_INSTANCE', i.instance, names(name, i));
    expectEnv(sidecarName, senv, 'APP_PORT', port, `gives ${i.service} port ${port}`);
    expectLabels(sidecarName, senv, i);
    expectEnv(
      sidecarName,
      senv,
      'MESH_JOIN_TOKEN_FILE',
      `${joinDir(i.service)}/token`,
      `puts it in ${i.service}, whose join credential is ${joinDir(i.service)}/token`,
    );
    expectEnv(sidecarName, senv, 'ADVERTISE_HOST', name, `runs instance ${i.instance} in container ${name}, the name peers reach it at`);
    const join = volumesOf(sidecar).find((v) => v.target === joinDir(i.service));
    if (!join || join.source !== joinVolume(i.service) || !join.readOnly)
      say(
        `${sidecarName} does not mount ${joinVolume(i.service)}:${joinDir(i.service)}:ro, the join credential of ${i.service} (${TOPOLOGY_FILE}); set its volumes to ["${joinVolume(i.service)}:${joinDir(i.service)}:ro"]`,
      );
    for (const v of volumesOf(sidecar))
      if (v.source.startsWith('join-') && v.source !== joinVolume(i.service))
        say(`${sidecarName} mounts ${v.source}, another service's join credential; it proves ${i.service} only (remove it)`);
    if (!dependsOn(sidecar).includes(name))
      say(
        `${sidecarName} does not depend on ${name}, the app whose network it joins (add ${name}: { condition: service_started } to its depends_on)`,
      );
  }

  // Containers no topology instance accounts for (a sidecar beside one of them is reported with it).
  const unaccounted = Object.keys(containers).filter((n) => !expected.has(n) && !expectedSidecars.has(n) && !renamed.has(n));
  for (const name of unaccounted) {
    const c = containers[name]!;
    const role = roleOf(c);
    const env = envOf(c);
    if (role === 'sidecar') {
      const beside = c.network_mode?.replace(/^service:/, '');
      const besideRole = beside && unaccounted.includes(beside) ? roleOf(containers[beside]!) : undefined;
      if (besideRole && !PLATFORM_ROLES.has(besideRole)) continue;
      const service = env['MESH_SERVICE'] ?? '(none)';
      say(
        service in topology.services
          ? `${name} is a sidecar of ${service} beside no container of a ${TOPOLOGY_FILE} instance (${service}'s: ${topology.services[service]!.instances.map((i) => i.name).join(', ')}); remove it, or declare its instance`
          : `${name} is a sidecar of ${service}, which ${TOPOLOGY_FILE} does not declare; declare the service there or remove ${name}`,
      );
    } else if (role && role in topology.services) {
      say(
        `${name} runs ${role} as instance ${env['MESH_INSTANCE'] ?? '(no MESH_INSTANCE)'}, which is not one of ${role}'s instances in ${TOPOLOGY_FILE} ` +
          `(${topology.services[role]!.instances.map((i) => i.name).join(', ')}); add the instance to the topology, or remove ${name} and ${sidecarOf(name)}`,
      );
    } else if (role && !PLATFORM_ROLES.has(role)) {
      say(
        `${name} runs ${role}, which ${TOPOLOGY_FILE} does not declare; declare it under services (with its port, instances and calls) or remove ${name} and its sidecar`,
      );
    }
  }

  // The gateway answers once every sidecar is healthy (it has its config and certificate).
  const gateway = containers['gateway'];
  if (!gateway) say('no gateway container');
  else {
    const waits = dependsOn(gateway);
    for (const s of expectedSidecars)
      if (containers[s] && !waits.includes(s))
        say(`gateway's depends_on lacks ${s}; add ${s}: { condition: service_healthy } (every topology instance's sidecar)`);
  }

  // The control plane writes each service's join credential into /join/<service>, a named volume.
  const controlPlane = containers['control-plane'];
  const declaredVolumes = Object.keys(compose.volumes ?? {});
  for (const service of services) {
    const mount = controlPlane && volumesOf(controlPlane).find((v) => v.target === joinDir(service));
    if (controlPlane && (!mount || mount.source !== joinVolume(service)))
      say(
        `control-plane does not mount ${joinVolume(service)}:${joinDir(service)}, where it writes the join credential of ${service} (${TOPOLOGY_FILE}); add it to control-plane's volumes`,
      );
    if (!declaredVolumes.includes(joinVolume(service)))
      say(`the top-level volumes lack ${joinVolume(service)}, the join credential of ${service} (${TOPOLOGY_FILE}); add it`);
  }
  for (const v of controlPlane ? volumesOf(controlPlane) : []) {
    const service = v.target.startsWith('/join/') ? v.target.slice('/join/'.length) : undefined;
    if (service && service !== 'gateway' && !(service in topology.services))
      say(
        `control-plane mounts ${v.source}:${v.target} for ${service}, which ${TOPOLOGY_FILE} does not declare; remove it (and the volume) or declare the service`,
      );
  }
  return problems;
}
