// meshctl: the MeshCart command line. `npx meshctl fault --service product --abort 503 --percent 50`.
import { ApiError, ControlPlaneApi } from './control-plane-api';
import { FAULT_USAGE, faultCommand, UsageError } from './fault-command';

const USAGE = `meshctl [--control-plane URL] COMMAND
commands:
${FAULT_USAGE.replace(/^usage:\n/, '')}`;

async function main(argv: string[]): Promise<number> {
  let args = argv;
  let baseUrl = process.env['MESHCTL_CONTROL_PLANE'] ?? 'http://127.0.0.1:15010';
  const cp = args.indexOf('--control-plane');
  if (cp >= 0) {
    baseUrl = args[cp + 1] ?? baseUrl;
    args = [...args.slice(0, cp), ...args.slice(cp + 2)];
  }
  const [command, ...rest] = args;
  const api = new ControlPlaneApi(baseUrl.replace(/\/$/, ''));
  try {
    switch (command) {
      case 'fault':
        await faultCommand(api, rest, (line) => console.log(line));
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
    if (err instanceof UsageError) console.error(`meshctl: ${err.message}\n${USAGE}`);
    else if (err instanceof ApiError) console.error(`meshctl: ${err.message}`);
    else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(`meshctl: ${(err as Error).message}\n${USAGE}`);
    else throw err;
    return err instanceof ApiError ? 1 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
