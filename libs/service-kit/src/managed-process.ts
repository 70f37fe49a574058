// The parent side of run-service's ready message: spawn a MeshCart process and wait until it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadyMessage } from './run-service';

export interface ManagedProcessOptions {
  /** Label used in errors and output prefixes. */
  name: string;
  /** A TypeScript entry point (run through tsx) or a JavaScript file. */
  entry: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Each line the process prints; by default output is kept only for error messages. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  readyTimeoutMs?: number;
  /** Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops children in order. */
  detached?: boolean;
  /** Node flags before the entry, e.g. ['--cpu-prof'] (flags NODE_OPTIONS does not accept). */
  nodeArgs?: string[];
}

/** The folder holding nx.json, found from this file. */
export function workspaceRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export class ManagedProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly tail: string[] = [];

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly ports: Record<string, number>,
    exited: ManagedProcess['exited'],
    tail: string[],
  ) {
    this.exited = exited;
    this.tail = tail;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines it printed, for error messages. */
  output(): string {
    return this.tail.join('\n');
  }

  static start(opts: ManagedProcessOptions): Promise<ManagedProcess> {
    const cwd = opts.cwd ?? workspaceRoot();
    const entry = resolve(cwd, opts.entry);
    const args = [...(opts.nodeArgs ?? []), ...(entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry])];
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: opts.detached ?? false,
    });
    const tail: string[] = [];
    const record = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      return (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          opts.onLine?.(line, stream);
        }
      };
    };
    child.stdout!.on('data', record('stdout'));
    child.stderr!.on('data', record('stderr'));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.once('exit', (code, signal) => res({ code, signal })),
    );

    return new Promise((resolveStart, reject) => {
      const timeoutMs = opts.readyTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${opts.name} did not become ready within ${timeoutMs} ms:\n${tail.join('\n')}`));
      }, timeoutMs);
      child.on('message', (msg: ReadyMessage) => {
        if (msg?.type !== 'ready') return;
        clearTimeout(timer);
        resolveStart(new ManagedProcess(opts.name, child, msg.ports, exited, tail));
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        // Give the last output a moment to arrive before reporting it.
        setTimeout(() => reject(new Error(`${opts.name} exited (${signal ?? `code ${code}`}) before it was ready:\n${tail.join('\n')}`)), 20);
      });
    });
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
