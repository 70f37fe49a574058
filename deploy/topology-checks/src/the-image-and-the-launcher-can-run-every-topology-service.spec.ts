import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addProbeService, beyond, edit } from './drift-fixtures';
import { checkEntryPoints, checkImageRoles, DOCKERFILE, readImageRoles, readJoinFolders, ROLES_FILE } from './image-role-check';
import { expectNoDrift, readRepoFile, realTopology, repoPath } from './workspace';

const topology = realTopology();
const roles = readRepoFile(ROLES_FILE);
const dockerfile = readRepoFile(DOCKERFILE);
const exists = (path: string) => existsSync(repoPath(path));
/** A broken copy's problems, less the real files'. */
const check = (t: typeof topology, r: string, d: string) => beyond(checkImageRoles(topology, roles, dockerfile))(checkImageRoles(t, r, d));
const checkEntries = (t: typeof topology) => beyond(checkEntryPoints(topology, exists))(checkEntryPoints(t, exists));

describe('the image and the launcher against deploy/topology.yaml', () => {
  it("reads the image's roles and the Dockerfile's /join folders", () => {
    expect(readImageRoles(roles)?.['payment-service']).toEqual({
      entry: 'apps/payment-service/src/main.ts',
      health: { variable: 'PORT', fallback: 3004 },
    });
    expect(readJoinFolders(dockerfile)).toContain('gateway');
  });

  it('has an image role and a /join folder for every topology service, and no role for an undeclared one', () => {
    expectNoDrift(checkImageRoles(topology, roles, dockerfile));
  });

  it('has the entry point npm start runs for every topology service', () => {
    expectNoDrift(checkEntryPoints(topology, exists));
  });

  describe('names what is out of step in a broken copy', () => {
    it("a role's entry and health port", () => {
      const broken = edit(
        roles,
        "'order-service': { entry: 'apps/order-service/src/main.ts', summary: 'orders (the place-order saga)', health: ready('PORT', 3003) }",
        "'order-service': { entry: 'apps/order-service/src/index.ts', summary: 'orders (the place-order saga)', health: ready('PORT', 3033) }",
      );
      expect(check(topology, broken, dockerfile)).toEqual([
        "deploy/docker/src/roles.ts: role order-service runs apps/order-service/src/index.ts; a service's entry is apps/order-service/src/main.ts (set entry: 'apps/order-service/src/main.ts')",
        "deploy/docker/src/roles.ts: role order-service's health asks ready('PORT', 3033); deploy/topology.yaml gives order-service port 3003 (set health: ready('PORT', 3003))",
      ]);
    });

    it('a missing role, an undeclared one, and the /join folders', () => {
      const brokenRoles = edit(
        roles,
        "  'payment-service': {",
        "  'probe-service': { entry: 'apps/probe-service/src/main.ts', summary: 'probes' },\n  'old-payment-service': {",
      );
      const brokenDockerfile = edit(dockerfile, "'payment-service'", "'probe-service'");
      expect(check(topology, brokenRoles, brokenDockerfile)).toEqual([
        "deploy/docker/src/roles.ts: no role payment-service, so the image cannot run payment-service, which deploy/topology.yaml declares; add 'payment-service': { entry: 'apps/payment-service/src/main.ts', summary: '…', health: ready('PORT', 3004) } to ROLES",
        "deploy/docker/src/roles.ts: role probe-service runs a service deploy/topology.yaml does not declare (nor one of the mesh's own: control-plane, gateway, sidecar, meshctl, load); declare it there or remove the role",
        "deploy/docker/src/roles.ts: role old-payment-service runs a service deploy/topology.yaml does not declare (nor one of the mesh's own: control-plane, gateway, sidecar, meshctl, load); declare it there or remove the role",
        "deploy/docker/Dockerfile: the build stage makes no /join/payment-service folder, where compose mounts the join credential of payment-service; add 'payment-service' to the list in its RUN node -e \"…mkdirSync('/join/' + s…\" line",
        "deploy/docker/Dockerfile: the build stage makes /join/probe-service for probe-service, which deploy/topology.yaml does not declare; remove 'probe-service' from the list",
      ]);
    });

    it('a new service declared in the topology only', () => {
      const probe = addProbeService(topology);
      expect([...check(probe, roles, dockerfile), ...checkEntries(probe)]).toEqual([
        "deploy/docker/src/roles.ts: no role probe-service, so the image cannot run probe-service, which deploy/topology.yaml declares; add 'probe-service': { entry: 'apps/probe-service/src/main.ts', summary: '…', health: ready('PORT', 3999) } to ROLES",
        "deploy/docker/Dockerfile: the build stage makes no /join/probe-service folder, where compose mounts the join credential of probe-service; add 'probe-service' to the list in its RUN node -e \"…mkdirSync('/join/' + s…\" line",
        'apps/probe-service/src/main.ts: missing; deploy/topology.yaml declares probe-service, and npm start (libs/mesh-launcher) and the image run each service from apps/<service>/src/main.ts (a thin main.ts over buildApp, as in apps/payment-service)',
      ]);
    });

    it('a file moved out from under the check says so instead of passing', () => {
      expect(check(topology, 'export const roles = {};', 'FROM scratch')).toEqual([
        "deploy/docker/src/roles.ts: found no `ROLES` object literal; this check reads the image's roles from it (update src/image-role-check.ts if it moved)",
        'deploy/docker/Dockerfile: found no RUN line making the /join/<service> folders; this check reads them from it (update src/image-role-check.ts if it moved)',
      ]);
    });
  });
});
