import { parseMeshConfig } from '@meshcart/mesh-config';
import { workspaceRoot } from '@meshcart/service-kit';
import { validateTopology } from '@meshcart/topology';
import { FsTree } from 'nx/src/generators/tree';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { NewServiceRefused, serviceGenerator } from './generator';

// The generator against this workspace's real files, in memory: nothing is written to disk.
const workspace = () => new FsTree(workspaceRoot(), false);
const read = (tree: FsTree, path: string) => tree.read(path, 'utf-8')!;
// Names this workspace does not have yet (a fork may already have generated `review`).
const declared = Object.keys(validateTopology(parse(read(workspace(), 'deploy/topology.yaml')), 'topology').services);
const fresh = (name: string): string => (declared.includes(`${name}-service`) ? fresh(`${name}x`) : name);
const R = fresh('review');
const G = fresh('gift-card');

describe('the service generator', () => {
  it(`adds ${R}-service to the topology with the next free port, one v1 instance, its call and the gateway calling it`, async () => {
    const tree = workspace();
    const before = validateTopology(parse(read(tree, 'deploy/topology.yaml')), 'before');
    await serviceGenerator(tree, { name: R });
    const after = validateTopology(parse(read(tree, 'deploy/topology.yaml')), 'after');
    const highest = Math.max(...Object.values(before.services).map((s) => s.port));
    expect(after.services[`${R}-service`]).toEqual({
      port: highest + 1,
      instances: [{ name: `${R}-service-1`, labels: { version: 'v1' } }],
      calls: ['product-service'],
    });
    expect(after.gateway.calls).toEqual([...before.gateway.calls, `${R}-service`]);
    expect({ ...after.services, [`${R}-service`]: undefined }).toEqual({ ...before.services, [`${R}-service`]: undefined });
  });

  it('writes mesh profiles the control plane accepts, routing /api/review to it and allowing exactly its calls', async () => {
    const tree = workspace();
    await serviceGenerator(tree, { name: R });
    for (const file of ['deploy/mesh/optimized.yaml', 'deploy/mesh/baseline.yaml', 'deploy/k8s/base/mesh-config/optimized.yaml']) {
      const config = parseMeshConfig(read(tree, file), file);
      expect(config.spec.services[`${R}-service`], file).toEqual({});
      expect(
        config.spec.edge?.routes.find((r) => r.service === `${R}-service`),
        file,
      ).toMatchObject({
        match: { pathPrefix: `/api/${R}`, methods: ['GET', 'POST'] },
        rewritePrefix: `/${R}`,
      });
      const rules = config.spec.authorization!.rules.filter((r) => r.to === `${R}-service` || r.from.includes(`${R}-service`));
      expect(
        rules.map((r) => `${r.from.join(',')} -> ${r.to} ${r.methods?.join(',')} ${r.paths?.join(',')}`),
        file,
      ).toEqual([`gateway -> ${R}-service GET,POST /${R},/${R}/*`, `${R}-service -> product-service GET /products/*`]);
    }
  });

  it('adds the app and sidecar containers, volumes and the gateway dependency to compose, and a ServiceAccount to Kubernetes', async () => {
    const tree = workspace();
    await serviceGenerator(tree, { name: G, port: 3900 });
    const compose = parse(read(tree, 'docker-compose.yml'), { merge: true });
    expect(compose.services[`${G}-service`]).toMatchObject({ command: [`${G}-service`], volumes: [`${G}-data:/data`] });
    expect(compose.services[`${G}-service`].environment).toMatchObject({ PORT: '3900', MESH_INSTANCE: `${G}-service-1` });
    expect(compose.services[`${G}-service-sidecar`]).toMatchObject({ network_mode: `service:${G}-service` });
    expect(compose.services[`${G}-service-sidecar`].environment).toMatchObject({ MESH_SERVICE: `${G}-service`, APP_PORT: '3900' });
    expect(Object.keys(compose.services.gateway.depends_on)).toContain(`${G}-service-sidecar`);
    expect(compose.services['control-plane'].volumes).toContain(`join-${G}-service:/join/${G}-service`);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining([`join-${G}-service`, `${G}-data`]));

    const accounts = parseAllDocuments(read(tree, 'deploy/k8s/base/service-accounts.yaml')).map((d) => d.toJS());
    expect(accounts.at(-1)).toMatchObject({
      kind: 'ServiceAccount',
      metadata: { name: `${G}-service`, annotations: { 'meshcart.io/spiffe-id': `spiffe://meshcart.local/ns/meshcart/sa/${G}-service` } },
    });
    const deployment = parseAllDocuments(read(tree, `deploy/k8s/base/${G}-service.yaml`)).map((d) => d.toJS())[0];
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'PORT', value: '3900' });
    expect(read(tree, 'deploy/k8s/base/kustomization.yaml')).toContain(`  - ${G}-service.yaml\n`);
    expect(read(tree, 'eslint.config.js')).toContain(
      `{ sourceTag: 'scope:${G}', onlyDependOnLibsWithTags: ['scope:${G}', 'scope:shared', 'scope:mesh'] },`,
    );
  });

  describe('refuses, and changes nothing', () => {
    const refusals: [string, { name: string; port?: number }, string][] = [
      ['an empty name', { name: '' }, 'a name is required'],
      ['capitals and underscores', { name: 'Gift_Card' }, '"Gift_Card" is not allowed: use lowercase letters and digits'],
      ['a leading digit', { name: '9lives' }, 'starting with a letter'],
      ['a double hyphen', { name: 'gift--card' }, 'words joined by single hyphens'],
      ['the -service suffix', { name: 'review-service' }, 'give the name without "-service"'],
      ['a reserved name', { name: 'gateway' }, '"gateway" is reserved'],
      ['a name too long for a DNS label', { name: 'a'.repeat(41) }, 'at most 40 are allowed'],
      ['a service that exists', { name: 'product' }, 'product-service is already a service in deploy/topology.yaml'],
      ['a port that is taken', { name: 'review', port: 3002 }, "--port 3002 is product-service's port"],
      ['a port out of range', { name: 'review', port: 80 }, '--port 80 is not allowed: use 1024–65535'],
    ];
    for (const [what, schema, message] of refusals) {
      it(what, async () => {
        const tree = workspace();
        const refused = await serviceGenerator(tree, schema).catch((err: unknown) => err);
        expect(refused).toBeInstanceOf(NewServiceRefused);
        expect((refused as Error).message).toContain('new-service refused, nothing was changed');
        expect((refused as Error).message).toContain(message);
        expect(tree.listChanges()).toEqual([]);
      });
    }
  });
});
