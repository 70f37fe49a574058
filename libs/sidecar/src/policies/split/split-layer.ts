// Traffic split: picks the subset (v1, v2, ...) for this request by the route's weights; fixed across retries.
import type { Layer } from '../../core/types';

export function splitLayer(random: () => number = Math.random): Layer {
  return (inner) => (req) => {
    const split = req.ctx.route?.split;
    if (split) {
      let slot = random() * 100;
      const chosen = split.find((s) => (slot -= s.weight) < 0) ?? split[split.length - 1]!;
      req.ctx.subset = chosen.subset;
    }
    return inner(req);
  };
}
