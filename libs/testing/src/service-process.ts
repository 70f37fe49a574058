// Starts one app of this workspace as a real process on a loopback port (PORT=0) for tests.
import { ManagedProcess } from '@meshcart/service-kit';

export interface StartedService {
  url: string;
  port: number;
  process: ManagedProcess;
  stop: () => Promise<void>;
}

/** `entry` is relative to the workspace root, e.g. `apps/user-service/src/main.ts`. */
export async function startServiceProcess(name: string, entry: string, env: Record<string, string>): Promise<StartedService> {
  const proc = await ManagedProcess.start({
    name,
    entry,
    env: { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
  });
  const port = proc.ports['http'];
  if (!port) throw new Error(`${name} reported no http port`);
  return { url: `http://127.0.0.1:${port}`, port, process: proc, stop: async () => void (await proc.stop()) };
}
