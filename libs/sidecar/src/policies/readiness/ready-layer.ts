// Before the first config arrives there is nothing to route with, and under STRICT mTLS nothing may leave without a certificate: fail fast and say so.
import { NotReadyError } from '../../core/errors';
import type { Layer } from '../../core/types';

/** `notReady` says why requests cannot be sent yet, or undefined once they can. */
export function readyLayer(notReady: () => string | undefined): Layer {
  return (inner) => (req) => {
    const why = notReady();
    return why === undefined ? inner(req) : Promise.reject(new NotReadyError(why));
  };
}
