// Processes a lab starts beside the running mesh (an extra instance in another mesh mode): they outlive
// `meshctl lab start`, log to a file, and are stopped by pid in the lab's reset.
import { workspaceRoot } from '@meshcart/service-kit';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

/** What a lab keeps in its notes about a process it started. */
export interface LabProcess {
  name: string;
  pid: number;
  /** The entry it runs: stop() checks the pid still runs it before signalling. */
  entry: string;
  log: string;
}

/** A port free now on `host` (bound to port 0, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs a TypeScript entry of the workspace (through tsx) in its own process group, with no IPC
 * channel (a MeshCart process with one stops when its parent leaves) and its output in `log`.
 */
export function startProcess(name: string, entry: string, env: Record<string, string>, log: string): LabProcess {
  mkdirSync(dirname(log), { recursive: true });
  const fd = openSync(log, 'a');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: workspaceRoot(),
      // Not meshctl's own settings (the operator credential) nor the shell's MESH_* (the lab sets what it means).
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^MESH(CTL)?_/.test(k))), ...env },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${name} (${entry})`);
    return { name, pid: child.pid, entry, log };
  } finally {
    closeSync(fd);
  }
}

export function isRunning(p: LabProcess): boolean {
  try {
    process.kill(p.pid, 0);
  } catch {
    return false;
  }
  // Where the system says what a pid runs (Linux), make sure it is still ours, not a reused pid.
  const cmdline = `/proc/${p.pid}/cmdline`;
  return !existsSync(cmdline) || readFileSync(cmdline, 'utf8').includes(p.entry);
}

/** SIGTERM (a graceful stop: the instance leaves the mesh first), SIGKILL after `timeoutMs`. */
export async function stopProcess(p: LabProcess, timeoutMs = 10_000): Promise<void> {
  if (!isRunning(p)) return;
  process.kill(p.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isRunning(p)) {
    if (Date.now() > deadline) {
      process.kill(p.pid, 'SIGKILL');
      return;
    }
    await sleep(100);
  }
}

/** The last lines of a process's log, for an error message. */
export function logTail(p: LabProcess, lines = 15): string {
  try {
    return readFileSync(p.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Waits until `url` answers 200; fails early, with its log, if the process has exited. */
export async function waitUntilOk(p: LabProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isRunning(p)) throw new Error(`${p.name} exited before it was ready (log ${p.log}):\n${logTail(p)}`);
    try {
      const res = await request(url, { headersTimeout: 2_000 });
      const body = await res.body.text();
      if (res.statusCode === 200) return;
      last = `${res.statusCode} ${body.replace(/\s+/g, ' ').slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${p.name} was not ready at ${url} within ${timeoutMs / 1000} s (${last}; log ${p.log})`);
}
