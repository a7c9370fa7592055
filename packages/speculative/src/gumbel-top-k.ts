import { counterGumbel, RandomStream } from './random.js';

/**
 * k distinct tokens drawn from `distribution` without replacement, in draw order: the top-k of
 * `log q + Gumbel` (Gumbel-Top-k, Kool et al. 2019) is distributed as k sequential draws without
 * replacement, which is what the recursive verifier assumes of a `withoutReplacement` sibling group (RSD).
 * The noise comes from the counter stream keyed by (seed, position, node), so redrafting is reproducible.
 */
export function gumbelTopK(
  distribution: Float64Array,
  k: number,
  seed: number,
  position: number,
  node: number,
): number[] {
  const keys: { token: number; key: number }[] = [];
  for (let v = 0; v < distribution.length; v++) {
    const q = distribution[v];
    if (q <= 0) continue;
    keys.push({
      token: v,
      key: Math.log(q) + counterGumbel(seed, RandomStream.draft, position, node * distribution.length + v),
    });
  }
  keys.sort((a, b) => b.key - a.key);
  return keys.slice(0, k).map((entry) => entry.token);
}
