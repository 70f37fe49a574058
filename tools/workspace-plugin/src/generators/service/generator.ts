// `npm run new-service -- <name>` (`nx g @meshcart/workspace-plugin:service <name>`): a working service
// in the house style, and every place the mesh and the deployments name a service, from one command.
import { formatFiles, getProjects, type GeneratorCallback, type Tree } from '@nx/devkit';
import { validateTopology, type Topology } from '@meshcart/topology';
import { parse } from 'yaml';
import { appFiles, contractsIndexLine } from './app-files';
import { nameProblem, namesOf, type ServiceNames } from './names';
import type { Wiring } from './wiring/context';
import { addToCompose } from './wiring/compose';
import { addImageRole } from './wiring/image';
import { addToKubernetes } from './wiring/kubernetes';
import { addLintScope } from './wiring/lint-scope';
import { addToMeshProfiles, exampleCallRule } from './wiring/mesh-profiles';
import { addToTopology, TOPOLOGY_FILE } from './wiring/topology';

export interface ServiceGeneratorSchema {
  name: string;
  port?: number;
}

/** The generator will not run: nothing was written. The message says what to change. */
export class NewServiceRefused extends Error {
  readonly code = 'NEW_SERVICE_REFUSED';
  constructor(reason: string) {
    super(`new-service refused, nothing was changed: ${reason}`);
  }
}

/** The service the generated example calls through the mesh (its handler checks a product exists). */
const EXAMPLE_CALLEE = 'product-service';

function readTopology(tree: Tree): Topology {
  const text = tree.read(TOPOLOGY_FILE, 'utf-8');
  if (text === null) throw new NewServiceRefused(`${TOPOLOGY_FILE} is missing; it declares the shop's services and the new one goes there`);
  return validateTopology(parse(text), TOPOLOGY_FILE);
}

/** Why `n` cannot be added to this workspace, or undefined. */
function conflict(tree: Tree, topology: Topology, n: ServiceNames): string | undefined {
  if (n.service in topology.services) return `${n.service} is already a service in ${TOPOLOGY_FILE}; choose another name`;
  if (getProjects(tree).has(n.service)) return `an Nx project named ${n.service} already exists; choose another name`;
  for (const path of [n.dir, n.contractFile, `deploy/k8s/base/${n.service}.yaml`])
    if (tree.exists(path)) return `${path} already exists; choose another name, or remove it first`;
  if (tree.read('eslint.config.js', 'utf-8')?.includes(`'${n.scope}'`)) return `eslint.config.js already has a ${n.scope} rule; choose another name`;
  return undefined;
}

function portFor(topology: Topology, n: ServiceNames, asked: number | undefined): number {
  const taken = new Map(Object.entries(topology.services).map(([s, v]) => [v.port, s]));
  if (asked !== undefined) {
    if (!Number.isInteger(asked) || asked < 1024 || asked > 65535) throw new NewServiceRefused(`--port ${asked} is not allowed: use 1024–65535`);
    if (taken.has(asked)) throw new NewServiceRefused(`--port ${asked} is ${taken.get(asked)}'s port in ${TOPOLOGY_FILE}; choose a free one`);
    return asked;
  }
  return Math.max(3000, ...taken.keys()) + 1;
}

export async function serviceGenerator(tree: Tree, schema: ServiceGeneratorSchema): Promise<GeneratorCallback> {
  const name = String(schema.name ?? '').trim();
  const problem = nameProblem(name);
  if (problem) throw new NewServiceRefused(problem);
  const n = namesOf(name);
  const topology = readTopology(tree);
  const clash = conflict(tree, topology, n);
  if (clash) throw new NewServiceRefused(clash);
  if (!(EXAMPLE_CALLEE in topology.services) || !exampleCallRule(EXAMPLE_CALLEE))
    throw new NewServiceRefused(`the generated example calls ${EXAMPLE_CALLEE} through the mesh, and ${TOPOLOGY_FILE} has no ${EXAMPLE_CALLEE}`);
  const port = portFor(topology, n, schema.port);

  for (const file of appFiles(n, { port })) tree.write(file.path, file.content);
  const index = 'libs/contracts/src/index.ts';
  tree.write(index, `${(tree.read(index, 'utf-8') ?? '').replace(/\n*$/, '')}\n${contractsIndexLine(n)}\n`);

  const w: Wiring = {
    n,
    port,
    instance: `${n.service}-1`,
    calls: [EXAMPLE_CALLEE],
    summary: `${n.name} items, each checked against the catalog (from npm run new-service)`,
  };
  addToTopology(tree, w);
  addLintScope(tree, w);
  addImageRole(tree, w);
  addToCompose(tree, w);
  addToKubernetes(tree, w);
  addToMeshProfiles(tree, w);
  // The topology as edited must still be whole (unique names and ports, known calls).
  readTopology(tree);

  await formatFiles(tree);
  return () => {
    console.log(
      [
        ``,
        `${n.service} is in the shop: ${n.dir}, its contract ${n.contractFile}, GET ${n.publicPath} through the gateway.`,
        `Next:`,
        `  npx nx run-many -t lint typecheck test -p ${n.service} topology-checks   # its tests and the drift checks`,
        `  npm start                                       # ${w.instance} and its sidecar start with the rest`,
        `  curl http://127.0.0.1:8080${n.publicPath}`,
        `  npx meshctl status                              # its proxy, ACKed`,
        `What each file is for, and how to remove it again: docs/adding-a-service.md`,
      ].join('\n'),
    );
  };
}

export default serviceGenerator;
