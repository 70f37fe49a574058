// Preloaded (node --import) into the processes a lab runs beside the mesh (lab-replicas.ts): they end by
// themselves once the lab is no longer started, and LAB_DELAY_MS makes every HTTP request wait that long
// before the app sees it (a slow replica). Never imported by meshctl itself.
import { existsSync, readFileSync } from 'node:fs';
import { Server } from 'node:http';

const stateFile = process.env['LAB_STATE_FILE'];
const lab = process.env['LAB_ID'];
if (stateFile && lab) {
  // A lab that was reset, or whose data folder is gone, leaves no process behind (a test that stops halfway).
  const leash = setInterval(() => {
    let current: string | undefined = lab;
    if (!existsSync(stateFile)) current = undefined;
    else
      try {
        current = (JSON.parse(readFileSync(stateFile, 'utf8')) as { lab?: string }).lab;
      } catch {
        // caught mid-write: look again next time
      }
    if (current === lab) return;
    clearInterval(leash);
    process.kill(process.pid, 'SIGTERM');
  }, 2_000);
  leash.unref();
}

const delayMs = Number(process.env['LAB_DELAY_MS'] ?? 0);
if (delayMs > 0) {
  const emit = Server.prototype.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request') return emit.call(this, event, ...args);
    setTimeout(() => emit.call(this, event, ...args), delayMs);
    return true;
  };
}
