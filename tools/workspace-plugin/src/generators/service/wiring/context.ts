// What every wiring step needs to know about the service being added.
import type { Tree } from '@nx/devkit';
import type { ServiceNames } from '../names';

export interface Wiring {
  n: ServiceNames;
  /** The port its app listens on (its container's, its pod's; npm start plans its own). */
  port: number;
  /** Its one instance in the topology: `<service>-1`, labels version=v1. */
  instance: string;
  /** The services its example code calls through the mesh. */
  calls: string[];
  /** One line on what it does, for the manifests' and roles' comments. */
  summary: string;
}

/** Reads a workspace file that must exist, edits it, writes it back. */
export function edit(tree: Tree, file: string, change: (text: string) => string): void {
  const text = tree.read(file, 'utf-8');
  if (text === null) throw new Error(`${file}: not found; the generator adds the new service there, so it must exist (or restore it from git)`);
  tree.write(file, change(text));
}
