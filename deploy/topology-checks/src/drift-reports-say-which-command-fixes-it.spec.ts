import { describe, expect, it } from 'vitest';
import { expectNoDrift } from './workspace';

describe('a drift report', () => {
  it('passes with nothing out of step', () => {
    expect(() => expectNoDrift([])).not.toThrow();
  });

  it('lists every problem and says which command writes what is missing', () => {
    let report = '';
    try {
      expectNoDrift(['docker-compose.yml: no container a-service', 'eslint.config.js: no depConstraint for scope:a']);
    } catch (err) {
      report = (err as Error).message;
    }
    expect(report).toContain(
      '2 thing(s) out of step with deploy/topology.yaml:\n  - docker-compose.yml: no container a-service\n  - eslint.config.js',
    );
    expect(report).toContain('`npm run new-service -- <name>`');
    expect(report).toContain('`npx nx run k8s:mesh-config`');
  });
});
