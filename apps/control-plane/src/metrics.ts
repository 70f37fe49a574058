// The control plane's own metrics (GET /metrics): refusals of callers, by why.
import { Counter, Registry } from 'prom-client';

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly refusals = new Counter({
    name: 'meshcart_control_plane_refusals_total',
    help: 'Calls the control plane refused: no credential (401), a credential it does not accept (401), or an identity not allowed the call (403)',
    labelNames: ['status', 'code', 'action'] as const,
    registers: [this.registry],
  });
}
