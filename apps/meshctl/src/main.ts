// meshctl: the MeshCart command line. `npx meshctl fault --service product --abort 503 --percent 50`.
import { applyCommand, CONFIG_USAGE, diffCommand, historyCommand, profileCommand, rollbackCommand } from './config-commands';
import { ACCESS_USAGE, auditCommand, caCommand, joinCommand } from './access-commands';
import { ApiError, ControlPlaneApi } from './control-plane-api';
import { FAULT_USAGE, faultCommand, UsageError } from './fault-command';
import type { Output } from './output';
import { findOperatorToken } from './operator-token';
import { CheckFailed, LAB_USAGE, labCommand } from './labs/lab-command';
import { routesCommand, statCommand, statusCommand } from './status-commands';

const USAGE = `meshctl [--control-plane URL] [--token TOKEN] [--json] COMMAND
  changes need the operator credential: --token, MESHCTL_TOKEN, or the file the local control plane
  writes (MESHCART_DATA_DIR/operator-token, else the nearest .data/operator-token)
commands:
  meshctl status                         every proxy: mode, config version, ACK state, certificate expiry
  meshctl stat [--window SECONDS]        per service: success rate, requests per second, p50/p95/p99
  meshctl routes SERVICE                 the routes of a service and their policies
${CONFIG_USAGE}
${FAULT_USAGE.replace(/^usage:\n/, '')}
${ACCESS_USAGE}
${LAB_USAGE}`;

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
