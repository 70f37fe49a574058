// Native child processes (nginx, HAProxy): find a binary, pick a free port, spawn, find workers, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import pidtree from 'pidtree';

/** The binary on PATH or in the sbin folders (Debian installs nginx and haproxy in /usr/sbin, often not on a user's PATH). */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** A port free right now (native proxies cannot listen on 0 and tell us where). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Direct children of a process (nginx's master forks its worker), from `ps` on Linux and macOS alike. */
export async function childPids(pid: number): Promise<number[]> {
  return (await pidtree(pid, { advanced: true })).filter((p) => p.ppid === pid).map((p) => p.pid);
}

export interface NativeProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Every native proxy not yet stopped, so a Ctrl-C that lands while one is starting still stops it. */
const live = new Set<NativeProcess>();

export async function stopAllNative(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Spawns a native proxy in the foreground; `stop` sends SIGTERM (SIGKILL after 5 s) and waits for exit. */
export function spawnNative(file: string, args: string[], cwd: string): NativeProcess {
  const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => tail.push(String(err)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: NativeProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => tail.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Rejects as soon as the process exits: a proxy that dies at start (bad config, port taken) shows its output. */
export function exitedEarly(proc: NativeProcess, name: string): Promise<never> {
  return new Promise((_, reject) =>
    proc.child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? `code ${code}`}) at start:\n${proc.output()}`))),
  );
}
