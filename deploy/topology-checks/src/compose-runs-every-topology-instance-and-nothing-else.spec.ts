import { describe, expect, it } from 'vitest';
import { checkCompose, COMPOSE_FILE } from './compose-check';
import { addCanary, addProbeService, beyond, edit, withTopology } from './drift-fixtures';
import { expectNoDrift, readRepoFile, realTopology } from './workspace';

const topology = realTopology();
const compose = readRepoFile(COMPOSE_FILE);
/** A broken copy's problems, less the real file's. */
const check = (t: typeof topology, text: string) => beyond(checkCompose(topology, compose))(checkCompose(t, text));

describe('docker-compose.yml against deploy/topology.yaml', () => {
  it('runs every topology instance beside its sidecar, and no service the topology does not declare', () => {
    expectNoDrift(checkCompose(topology, compose));
  });

  describe('names what is out of step in a broken copy', () => {
    it("a sidecar's MESH_INSTANCE", () => {
      const broken = edit(
        compose,
        'MESH_INSTANCE: product-service-2, MESH_LABELS: "version=v1", APP_PORT',
        'MESH_INSTANCE: product-service-3, MESH_LABELS: "version=v1", APP_PORT',
      );
      expect(check(topology, broken)).toEqual([
        'docker-compose.yml: product-service-2-sidecar has MESH_INSTANCE=product-service-3; deploy/topology.yaml names product-service-2 (edit one to match the other)',
      ]);
    });

    it("an app's PORT and a sidecar's APP_PORT", () => {
      const broken = edit(
        edit(compose, 'PORT: "3004", MESH_INSTANCE: payment-service-1', 'PORT: "3999", MESH_INSTANCE: payment-service-1'),
        'APP_PORT: "3004"',
        'APP_PORT: "3999"',
      );
      expect(check(topology, broken)).toEqual([
        'docker-compose.yml: payment-service has PORT=3999; deploy/topology.yaml gives payment-service port 3004 (edit one to match the other)',
        'docker-compose.yml: payment-service-sidecar has APP_PORT=3999; deploy/topology.yaml gives payment-service port 3004 (edit one to match the other)',
      ]);
    });

    it('labels that differ from the topology', () => {
      const broken = edit(
        compose,
        'PORT: "3002", MESH_INSTANCE: product-service-1, MESH_LABELS: "version=v1"',
        'PORT: "3002", MESH_INSTANCE: product-service-1, MESH_LABELS: "version=v2"',
      );
      expect(check(topology, broken)).toEqual([
        'docker-compose.yml: product-service-1 has MESH_LABELS=version=v2; deploy/topology.yaml labels product-service-1 version=v1 (edit one to match the other)',
      ]);
    });

    it("an app running another service's role, and a sidecar in the wrong network namespace", () => {
      const broken = edit(
        edit(compose, 'command: [order-service]', 'command: [payment-service]'),
        'network_mode: service:order-service',
        'network_mode: service:payment-service',
      );
      expect(check(topology, broken)).toEqual([
        'docker-compose.yml: order-service runs command [payment-service]; deploy/topology.yaml puts instance order-service-1 in order-service (set command: [order-service])',
        "docker-compose.yml: order-service-sidecar has network_mode service:payment-service; a sidecar shares its app's network namespace (set network_mode: service:order-service)",
      ]);
    });

    it("a sidecar mounting another service's join credential", () => {
      const broken = edit(compose, '"join-user-service:/join/user-service:ro"', '"join-order-service:/join/user-service:ro"');
      expect(check(topology, broken)).toEqual([
        'docker-compose.yml: user-service-sidecar does not mount join-user-service:/join/user-service:ro, the join credential of user-service (deploy/topology.yaml); set its volumes to ["join-user-service:/join/user-service:ro"]',
        "docker-compose.yml: user-service-sidecar mounts join-order-service, another service's join credential; it proves user-service only (remove it)",
      ]);
    });

    it("a sidecar missing from the gateway's depends_on", () => {
      const broken = edit(compose, '      order-service-sidecar: { condition: service_healthy }\n', '');
      expect(check(topology, broken)).toEqual([
        "docker-compose.yml: gateway's depends_on lacks order-service-sidecar; add order-service-sidecar: { condition: service_healthy } (every topology instance's sidecar)",
      ]);
    });

    it('a container running a service the topology does not declare', () => {
      const broken = edit(
        compose,
        '  gateway:\n',
        '  probe-service:\n    <<: [*image, *app-resources]\n    command: [probe-service]\n    environment: { <<: *app-env, PORT: "3999", MESH_INSTANCE: probe-service-1 }\n  gateway:\n',
      );
      expect(check(topology, broken)).toEqual([
        'docker-compose.yml: probe-service runs probe-service, which deploy/topology.yaml does not declare; declare it under services (with its port, instances and calls) or remove probe-service and its sidecar',
      ]);
    });

    it('the canary declared in the topology only', () => {
      expect(check(addCanary(topology), compose)).toEqual([
        "docker-compose.yml: no container product-service-v3-1 for instance product-service-v3-1 of product-service (deploy/topology.yaml); add product-service-v3-1 and product-service-v3-1-sidecar (copy product-service-1 and product-service-1-sidecar, renamed; MESH_INSTANCE=product-service-v3-1, PORT and APP_PORT 3002, MESH_LABELS=version=v3), and list product-service-v3-1-sidecar in gateway's depends_on",
      ]);
    });

    it('the canary added to compose without its labels', () => {
      const canary = (text: string) =>
        text
          .replaceAll('product-service-2', 'product-service-v3-1')
          .replace(/MESH_INSTANCE: product-service-v3-1, MESH_LABELS: "version=v1"/g, 'MESH_INSTANCE: product-service-v3-1');
      // product-service-2 and its sidecar: the lines up to the blank one after the sidecar.
      const block = compose.slice(
        compose.indexOf('  product-service-2:\n'),
        compose.indexOf('\n\n', compose.indexOf('  product-service-2-sidecar:\n')) + 2,
      );
      const broken = edit(
        edit(compose, '  order-service:\n', `${canary(block)}  order-service:\n`),
        '      order-service-sidecar: { condition: service_healthy }\n',
        '      product-service-v3-1-sidecar: { condition: service_healthy }\n      order-service-sidecar: { condition: service_healthy }\n',
      );
      expect(check(addCanary(topology), broken)).toEqual([
        'docker-compose.yml: product-service-v3-1 sets no MESH_LABELS; deploy/topology.yaml labels product-service-v3-1 version=v3, and product-service\'s instances differ in labels, so the mesh routes on them (set MESH_LABELS: "version=v3")',
        'docker-compose.yml: product-service-v3-1-sidecar sets no MESH_LABELS; deploy/topology.yaml labels product-service-v3-1 version=v3, and product-service\'s instances differ in labels, so the mesh routes on them (set MESH_LABELS: "version=v3")',
      ]);
    });

    it('a second instance of a single-instance service: its container takes the instance name', () => {
      const twoUsers = withTopology(topology, (t) =>
        t.services['user-service']!.instances.push({ name: 'user-service-2', labels: { version: 'v1' } }),
      );
      expect(check(twoUsers, compose)).toEqual([
        'docker-compose.yml: instance user-service-1 runs in container user-service, but user-service has 2 instances in deploy/topology.yaml, so its container is named user-service-1 (single-instance services are named after the service, replicas after their instance): rename user-service to user-service-1 and user-service-sidecar to user-service-1-sidecar, with their network_mode, depends_on and ADVERTISE_HOST',
        "docker-compose.yml: no container user-service-2 for instance user-service-2 of user-service (deploy/topology.yaml); add user-service-2 and user-service-2-sidecar (copy user-service and user-service-sidecar, renamed; MESH_INSTANCE=user-service-2, PORT and APP_PORT 3001, MESH_LABELS=version=v1), and list user-service-2-sidecar in gateway's depends_on",
      ]);
    });

    it('an instance removed from the topology but still in compose', () => {
      const without2 = withTopology(topology, (t) => {
        const product = t.services['product-service']!;
        product.instances = product.instances.filter((i) => i.name !== 'product-service-2');
      });
      expect(check(without2, compose)).toContainEqual(
        expect.stringMatching(
          /^docker-compose\.yml: product-service-2 runs product-service as instance product-service-2, which is not one of product-service's instances in deploy\/topology\.yaml \(.*\); add the instance to the topology, or remove product-service-2 and product-service-2-sidecar$/,
        ),
      );
    });

    it("a new service declared in the topology only, down to the control plane's join volume", () => {
      expect(check(addProbeService(topology), compose)).toEqual([
        "docker-compose.yml: no container probe-service for instance probe-service-1 of probe-service (deploy/topology.yaml); add probe-service and probe-service-sidecar (copy another service's pair, with command [probe-service]; MESH_INSTANCE=probe-service-1, PORT and APP_PORT 3999, MESH_LABELS=version=v1), and list probe-service-sidecar in gateway's depends_on",
        "docker-compose.yml: control-plane does not mount join-probe-service:/join/probe-service, where it writes the join credential of probe-service (deploy/topology.yaml); add it to control-plane's volumes",
        'docker-compose.yml: the top-level volumes lack join-probe-service, the join credential of probe-service (deploy/topology.yaml); add it',
      ]);
    });
  });
});
