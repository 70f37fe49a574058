// deploy/topology.yaml: the service with one v1 instance and its calls, and the gateway calling it.
import type { Tree } from '@nx/devkit';
import { addToFlowList, appendToBlock } from './text-blocks';
import { edit, type Wiring } from './context';

export const TOPOLOGY_FILE = 'deploy/topology.yaml';

export function addToTopology(tree: Tree, w: Wiring): void {
  edit(tree, TOPOLOGY_FILE, (text) => {
    const withService = appendToBlock(TOPOLOGY_FILE, text, /^services:/, [
      `  ${w.n.service}:`,
      `    port: ${w.port}`,
      `    instances:`,
      `      - { name: ${w.instance}, labels: { version: v1 } }`,
      `    calls: [${w.calls.join(', ')}]`,
    ]);
    return addToFlowList(TOPOLOGY_FILE, withService, /^ {2}calls: \[/, w.n.service, /^gateway:/);
  });
}
