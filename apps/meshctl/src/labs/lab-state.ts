// Which lab is started, and what the mesh was before it: kept in the data directory (.data/labs/state.json), so reset can put it back.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface LabState {
  lab: string;
  controlPlane: string;
  startedAt: string;
  /** The config in force before start: reset rolls back to it. */
  before: { version: string; profile: string };
  /** The lab's own notes (figures start measured, processes it started). */
  notes: Record<string, unknown>;
}

/**
 * The folder labs keep their state and starting configs in: `$MESHCART_DATA_DIR/labs` (as npm start
 * uses), else `labs/` in the nearest `.data` from the working directory up, else `./.data/labs`.
 */
export function labDir(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  if (env['MESHCART_DATA_DIR']) return join(resolve(cwd, env['MESHCART_DATA_DIR']), 'labs');
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.data'))) return join(dir, '.data', 'labs');
    if (dirname(dir) === dir) return join(resolve(cwd), '.data', 'labs');
  }
}

export class LabStateFile {
  readonly file: string;
  constructor(readonly dir: string) {
    this.file = join(dir, 'state.json');
  }

  read(): LabState | undefined {
    if (!existsSync(this.file)) return undefined;
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as LabState;
    } catch (err) {
      throw new Error(`${this.file} is not readable lab state (${(err as Error).message}); delete it and roll back with meshctl history / rollback`);
    }
  }

  write(state: LabState): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.file, `${JSON.stringify(state, null, 2)}\n`);
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }

  /** Where a lab's starting config is written for the learner to edit. */
  configFile(lab: string): string {
    return join(this.dir, `${lab}.yaml`);
  }
}
