// meshctl's usage text: every command and flag it takes (printed by `meshctl help`, and what the lab pages are checked against).
import { ACCESS_USAGE } from './access-commands';
import { CONFIG_USAGE } from './config-commands';
import { DRAIN_USAGE } from './drain-command';
import { FAULT_USAGE } from './fault-command';
import { LAB_USAGE } from './labs/lab-command';

export const USAGE = `meshctl [--control-plane URL] [--token TOKEN] [--json] COMMAND
  changes need the operator credential: --token, MESHCTL_TOKEN, or the file the local control plane
  writes (MESHCART_DATA_DIR/operator-token, else the nearest .data/operator-token)
commands:
  meshctl status                         every proxy: mode, config version, ACK state, certificate expiry
  meshctl stat [--window SECONDS]        per service: success rate, requests per second, p50/p95/p99
  meshctl routes SERVICE                 the routes of a service and their policies
${DRAIN_USAGE}
${CONFIG_USAGE}
${FAULT_USAGE.replace(/^usage:\n/, '')}
${ACCESS_USAGE}
${LAB_USAGE}`;
