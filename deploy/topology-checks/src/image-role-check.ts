// The image and the launcher against the topology: a role per service in deploy/docker/src/roles.ts, a /join folder per service in the Dockerfile, and an entry point per service for npm start.
import ts from 'typescript';
import type { Topology } from '@meshcart/topology';
import { PLATFORM_ROLES, TOPOLOGY_FILE } from './workspace';

export const ROLES_FILE = 'deploy/docker/src/roles.ts';
export const DOCKERFILE = 'deploy/docker/Dockerfile';
/** What the launcher (libs/mesh-launcher) and the image run for a service. */
export const entryOf = (service: string) => `apps/${service}/src/main.ts`;

export interface ImageRole {
  entry?: string;
  /** `health: ready('PORT', 3001)`: the variable and the port it falls back to. */
  health?: { variable?: string; fallback?: number };
}

/** The ROLES object of roles.ts, read from its syntax (deploy/docker is an app: its code is not imported across projects). */
export function readImageRoles(source: string): Record<string, ImageRole> | undefined {
  const file = ts.createSourceFile(ROLES_FILE, source, ts.ScriptTarget.Latest, true);
  let roles: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && node.name.getText(file) === 'ROLES' && node.initializer && ts.isObjectLiteralExpression(node.initializer))
      roles = node.initializer;
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (!roles) return undefined;
  const nameOf = (n: ts.PropertyName) => (ts.isIdentifier(n) || ts.isStringLiteral(n) ? n.text : n.getText(file));
  const out: Record<string, ImageRole> = {};
  for (const p of roles.properties) {
    if (!ts.isPropertyAssignment(p) || !p.name) continue;
    const role: ImageRole = {};
    if (ts.isObjectLiteralExpression(p.initializer))
      for (const f of p.initializer.properties) {
        if (!ts.isPropertyAssignment(f)) continue;
        const key = nameOf(f.name);
        if (key === 'entry' && ts.isStringLiteralLike(f.initializer)) role.entry = f.initializer.text;
        if (key === 'health' && ts.isCallExpression(f.initializer)) {
          const [variable, fallback] = f.initializer.arguments;
          role.health = {
            ...(variable && ts.isStringLiteralLike(variable) ? { variable: variable.text } : {}),
            ...(fallback && ts.isNumericLiteral(fallback) ? { fallback: Number(fallback.text) } : {}),
          };
        }
      }
    out[nameOf(p.name)] = role;
  }
  return out;
}

/** The services the Dockerfile makes /join/<service> folders for (the list in its `mkdirSync('/join/' + s)` line). */
export function readJoinFolders(dockerfile: string): string[] | undefined {
  const line = dockerfile.split('\n').find((l) => /^RUN /.test(l) && l.includes("'/join/'"));
  const list = line && /\[([^\]]*)\]/.exec(line)?.[1];
  return list === undefined || list === null ? undefined : [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

/** Every way the image's roles and the Dockerfile's /join folders are out of step with the topology; [] when none. */
export function checkImageRoles(topology: Topology, rolesSource: string, dockerfile: string): string[] {
  const problems: string[] = [];
  const say = (p: string) => problems.push(p);
  const services = Object.keys(topology.services);
  const roles = readImageRoles(rolesSource);
  if (!roles)
    say(`${ROLES_FILE}: found no \`ROLES\` object literal; this check reads the image's roles from it (update src/image-role-check.ts if it moved)`);
  for (const service of roles ? services : []) {
    const { port } = topology.services[service]!;
    const role = roles![service];
    if (!role) {
      say(
        `${ROLES_FILE}: no role ${service}, so the image cannot run ${service}, which ${TOPOLOGY_FILE} declares; ` +
          `add '${service}': { entry: '${entryOf(service)}', summary: '…', health: ready('PORT', ${port}) } to ROLES`,
      );
      continue;
    }
    if (role.entry !== entryOf(service))
      say(
        `${ROLES_FILE}: role ${service} runs ${role.entry ?? '(no entry)'}; a service's entry is ${entryOf(service)} (set entry: '${entryOf(service)}')`,
      );
    if (!role.health) say(`${ROLES_FILE}: role ${service} has no health probe; add health: ready('PORT', ${port}), its port in ${TOPOLOGY_FILE}`);
    else if (role.health.variable !== 'PORT' || role.health.fallback !== port)
      say(
        `${ROLES_FILE}: role ${service}'s health asks ready('${role.health.variable ?? '?'}', ${role.health.fallback ?? '?'}); ${TOPOLOGY_FILE} gives ${service} port ${port} (set health: ready('PORT', ${port}))`,
      );
  }
  for (const role of Object.keys(roles ?? {}))
    if (!PLATFORM_ROLES.has(role) && !services.includes(role))
      say(
        `${ROLES_FILE}: role ${role} runs a service ${TOPOLOGY_FILE} does not declare (nor one of the mesh's own: ${[...PLATFORM_ROLES].join(', ')}); declare it there or remove the role`,
      );

  // Compose mounts each service's join-credential volume on /join/<service>; the image makes the folder so the volume copies its owner.
  const folders = readJoinFolders(dockerfile);
  if (!folders)
    say(
      `${DOCKERFILE}: found no RUN line making the /join/<service> folders; this check reads them from it (update src/image-role-check.ts if it moved)`,
    );
  else {
    for (const s of ['gateway', ...services])
      if (!folders.includes(s))
        say(
          `${DOCKERFILE}: the build stage makes no /join/${s} folder, where compose mounts the join credential of ${s}; add '${s}' to the list in its RUN node -e "…mkdirSync('/join/' + s…" line`,
        );
    for (const s of folders)
      if (s !== 'gateway' && !services.includes(s))
        say(`${DOCKERFILE}: the build stage makes /join/${s} for ${s}, which ${TOPOLOGY_FILE} does not declare; remove '${s}' from the list`);
  }
  return problems;
}

/** Every service whose entry point npm start and the image would run is missing; [] when none. */
export function checkEntryPoints(topology: Topology, exists: (path: string) => boolean): string[] {
  return Object.keys(topology.services)
    .filter((s) => !exists(entryOf(s)))
    .map(
      (s) =>
        `${entryOf(s)}: missing; ${TOPOLOGY_FILE} declares ${s}, and npm start (libs/mesh-launcher) and the image run each service from apps/<service>/src/main.ts (a thin main.ts over buildApp, as in apps/payment-service)`,
    );
}
