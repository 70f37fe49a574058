// A copy of the workspace in a temporary folder, to run the generator and everything after it for real, without touching the repository.
import { makeTempDir } from '@meshcart/testing';
import { workspaceRoot } from '@meshcart/service-kit';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Run {
  code: number | null;
  output: string;
}

export interface WorkspaceCopy {
  root: string;
  /** Runs a command in the copy (npx, npm), with the output captured and a time limit. */
  run: (command: string, args: string[], opts?: { cwd?: string; timeoutMs?: number }) => Promise<Run>;
  /** A hash of every file's path and content (outside node_modules and caches): equal before and after means nothing changed. */
  fingerprint: () => string;
  remove: () => void;
}

/** The environment for commands in the copy: none of the outer Nx or Vitest run's variables, which would point them back at this workspace. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NX_|VITEST|VITE_|TEST$|NODE_ENV$)/.test(k)));
  return { ...env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false', NX_SKIP_NX_CACHE: 'true', FORCE_COLOR: '0', ...extra };
}

const SKIP = new Set(['node_modules', '.nx', '.data', 'dist', '.git']);

export function copyWorkspace(): WorkspaceCopy {
  const source = workspaceRoot();
  const dir = makeTempDir('meshcart-workspace-');
  // What git would check out (tracked files, and new ones not yet committed): a fresh clone's view.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: source, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    let isFile = false;
    try {
      isFile = statSync(join(source, file)).isFile();
    } catch {
      continue; // deleted in the working tree, not yet committed
    }
    if (!isFile) continue;
    mkdirSync(dirname(join(dir.path, file)), { recursive: true });
    cpSync(join(source, file), join(dir.path, file));
  }
  symlinkSync(join(source, 'node_modules'), join(dir.path, 'node_modules'), 'dir');

  const run: WorkspaceCopy['run'] = (command, args, opts = {}) =>
    new Promise((resolve) => {
      const child = spawn(command, args, { cwd: opts.cwd ?? dir.path, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => {
        output += `\n[killed after ${opts.timeoutMs} ms]`;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, opts.timeoutMs ?? 240_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });

  const fingerprint = () => {
    const hash = createHash('sha256');
    const walk = (rel: string) => {
      for (const entry of readdirSync(join(dir.path, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (SKIP.has(entry.name) || entry.isSymbolicLink()) continue;
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(path);
        else
          hash
            .update(path)
            .update('\0')
            .update(readFileSync(join(dir.path, path)))
            .update('\0');
      }
    };
    walk('');
    return hash.digest('hex');
  };

  return { root: dir.path, run, fingerprint, remove: dir.remove };
}
