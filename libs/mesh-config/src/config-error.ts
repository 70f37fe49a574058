// A rejected config: every problem, each with the path in the file and the reason.
export interface ConfigIssue {
  /** Dotted path into the config, e.g. `spec.services.order-service.routes[0].timeoutMs`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'MESH_ERR_INVALID_CONFIG';
  constructor(
    readonly issues: ConfigIssue[],
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}invalid mesh config:\n` + issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** `/spec/services/order-service/routes/0` → `spec.services.order-service.routes[0]` */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}
