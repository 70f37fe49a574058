// meshctl: the MeshCart command line. `npx meshctl fault --service product --abort 503 --percent 50`.
import { applyCommand, diffCommand, historyCommand, profileCommand, rollbackCommand } from './config-commands';
import { auditCommand, caCommand, joinCommand } from './access-commands';
import { ApiError, ControlPlaneApi } from './control-plane-api';
import { faultCommand, UsageError } from './fault-command';
import type { Output } from './output';
import { findOperatorToken } from './operator-token';
import { drainCommand } from './drain-command';
import { CheckFailed, labCommand } from './labs/lab-command';
import { USAGE } from './usage';
import { routesCommand, statCommand, statusCommand } from './status-commands';

async function main(argv: string[]): Promise<number> {
  let args = argv;
  let baseUrl = process.env['MESHCTL_CONTROL_PLANE'] ?? 'http://127.0.0.1:15010';
  const cp = args.indexOf('--control-plane');
  if (cp >= 0) {
    baseUrl = args[cp + 1] ?? baseUrl;
    args = [...args.slice(0, cp), ...args.slice(cp + 2)];
  }
  let flagToken: string | undefined;
  const t = args.indexOf('--token');
  if (t >= 0) {
    flagToken = args[t + 1];
    args = [...args.slice(0, t), ...args.slice(t + 2)];
  }
  const json = args.includes('--json');
  args = args.filter((a) => a !== '--json');
  const out: Output = { json, line: (text) => console.log(text) };
  const [command, ...rest] = args;
  const api = new ControlPlaneApi(baseUrl.replace(/\/$/, ''), findOperatorToken(flagToken, process.env));
  try {
    switch (command) {
      case 'fault':
        await faultCommand(api, rest, (line) => console.log(line));
        return 0;
      case 'status':
        await statusCommand(api, out);
        return 0;
      case 'stat':
        await statCommand(api, rest, out);
        return 0;
      case 'routes':
        await routesCommand(api, rest, out);
        return 0;
      case 'drain':
      case 'undrain':
        await drainCommand(api, command === 'drain', rest, out);
        return 0;
      case 'apply':
        await applyCommand(api, rest, out);
        return 0;
      case 'diff':
        await diffCommand(api, rest, out);
        return 0;
      case 'history':
        await (rest.includes('--audit') ? auditCommand(api, out) : historyCommand(api, out));
        return 0;
      case 'join':
        await joinCommand(api, rest, out);
        return 0;
      case 'ca':
        await caCommand(api, rest, out);
        return 0;
      case 'rollback':
        await rollbackCommand(api, rest, out);
        return 0;
      case 'profile':
        await profileCommand(api, rest, out);
        return 0;
      case 'lab':
        await labCommand(rest, { api, out, env: process.env, progress: (m) => console.error(m) });
        return 0;
      case undefined:
      case 'help':
      case '--help':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    // A failed lab check has said what is still wrong; its exit code is the verdict.
    if (err instanceof CheckFailed) return 1;
    if (err instanceof UsageError) console.error(`meshctl: ${err.message}\n${USAGE}`);
    else if (err instanceof ApiError) console.error(`meshctl: ${err.message}`);
    else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(`meshctl: ${(err as Error).message}\n${USAGE}`);
    else if ((err as { code?: string }).code === 'MESH_ERR_INVALID_CONFIG') console.error(`meshctl: ${(err as Error).message}`);
    else throw err;
    return err instanceof ApiError || (err as { code?: string }).code === 'MESH_ERR_INVALID_CONFIG' ? 1 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
