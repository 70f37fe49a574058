// Before the first config arrives there is nothing to route with: fail fast and say so.
import { NotReadyError } from '../../core/errors';
import type { Layer } from '../../core/types';

export function readyLayer(configured: () => boolean): Layer {
  return (inner) => (req) =>
    configured() ? inner(req) : Promise.reject(new NotReadyError('the mesh has no config yet (control plane not reached)'));
}
