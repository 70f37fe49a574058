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

describe('the service generator', () => {
  it('adds review-service to the topology with the next free port, one v1 instance, its call and the gateway calling it', async () => {
    const tree = workspace();
    const before = validateTopology(parse(read(tree, 'deploy/topology.yaml')), 'before');
    await serviceGenerator(tree, { name: 'review' });
    const after = validateTopology(parse(read(tree, 'deploy/topology.yaml')), 'after');
    const highest = Math.max(...Object.values(before.services).map((s) => s.port));
    expect(after.services['review-service']).toEqual({
      port: highest + 1,
      instances: [{ name: 'review-service-1', labels: { version: 'v1' } }],
      calls: ['product-service'],
    });
    expect(after.gateway.calls).toEqual([...before.gateway.calls, 'review-service']);
    expect({ ...after.services, 'review-service': undefined }).toEqual({ ...before.services, 'review-service': undefined });
  });

  it('writes mesh profiles the control plane accepts, routing /api/review to it and allowing exactly its calls', async () => {
    const tree = workspace();
    await serviceGenerator(tree, { name: 'review' });
    for (const file of ['deploy/mesh/optimized.yaml', 'deploy/mesh/baseline.yaml', 'deploy/k8s/base/mesh-config/optimized.yaml']) {
      const config = parseMeshConfig(read(tree, file), file);
      expect(config.spec.services['review-service'], file).toEqual({});
      expect(
        config.spec.edge?.routes.find((r) => r.service === 'review-service'),
        file,
      ).toMatchObject({
        match: { pathPrefix: '/api/review', methods: ['GET', 'POST'] },
        rewritePrefix: '/review',
      });
      const rules = config.spec.authorization!.rules.filter((r) => r.to === 'review-service' || r.from.includes('review-service'));
      expect(
        rules.map((r) => `${r.from.join(',')} -> ${r.to} ${r.methods?.join(',')} ${r.paths?.join(',')}`),
        file,
      ).toEqual(['gateway -> review-service GET,POST /review,/review/*', 'review-service -> product-service GET /products/*']);
    }
  });

  it('adds the app and sidecar containers, volumes and the gateway dependency to compose, and a ServiceAccount to Kubernetes', async () => {
    const tree = workspace();
    await serviceGenerator(tree, { name: 'gift-card', port: 3900 });
    const compose = parse(read(tree, 'docker-compose.yml'), { merge: true });
    expect(compose.services['gift-card-service']).toMatchObject({ command: ['gift-card-service'], volumes: ['gift-card-data:/data'] });
    expect(compose.services['gift-card-service'].environment).toMatchObject({ PORT: '3900', MESH_INSTANCE: 'gift-card-service-1' });
    expect(compose.services['gift-card-service-sidecar']).toMatchObject({ network_mode: 'service:gift-card-service' });
    expect(compose.services['gift-card-service-sidecar'].environment).toMatchObject({ MESH_SERVICE: 'gift-card-service', APP_PORT: '3900' });
    expect(Object.keys(compose.services.gateway.depends_on)).toContain('gift-card-service-sidecar');
    expect(compose.services['control-plane'].volumes).toContain('join-gift-card-service:/join/gift-card-service');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['join-gift-card-service', 'gift-card-data']));

    const accounts = parseAllDocuments(read(tree, 'deploy/k8s/base/service-accounts.yaml')).map((d) => d.toJS());
    expect(accounts.at(-1)).toMatchObject({
      kind: 'ServiceAccount',
      metadata: { name: 'gift-card-service', annotations: { 'meshcart.io/spiffe-id': 'spiffe://meshcart.local/ns/meshcart/sa/gift-card-service' } },
    });
    const deployment = parseAllDocuments(read(tree, 'deploy/k8s/base/gift-card-service.yaml')).map((d) => d.toJS())[0];
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'PORT', value: '3900' });
    expect(read(tree, 'deploy/k8s/base/kustomization.yaml')).toContain('  - gift-card-service.yaml\n');
    expect(read(tree, 'eslint.config.js')).toContain(
      "{ sourceTag: 'scope:gift-card', onlyDependOnLibsWithTags: ['scope:gift-card', 'scope:shared', 'scope:mesh'] },",
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
