/**
 * Counter-based randomness: every uniform is a pure function of (seed, stream, position, index), so a draw
 * never depends on how many draws happened before it. This is what makes seeded speculative sampling
 * reproducible whatever the tree shapes were, and makes sample-and-compare verification emit exactly the
 * tokens that plain seeded sampling emits (the target's draw for position n is the same uniform in both).
 */

/** Independent uniform streams, so a drafter's noise can never correlate with the verifier's draws. */
export const RandomStream = {
  /** Target-side token draw for a position (plain sampling, sample-and-compare, residual draws). */
  target: 1,
  /** Target-side acceptance tests `u < p/q` (Leviathan et al. 2023, Algorithm 1). */
  acceptance: 2,
  /** Drafter-side noise (Gumbel-Top-k). */
  draft: 3,
} as const;

// murmur3's 32-bit finaliser: a bijective avalanche mix (Appleby, MurmurHash3 fmix32).
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function hashWords(seed: number, stream: number, position: number, index: number, lane: number): number {
  let h = fmix32(seed ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(stream + 1, 0x85ebca6b));
  h = fmix32(h ^ Math.imul(position + 1, 0xcc9e2d51));
  h = fmix32(h ^ Math.imul(index + 1, 0x1b873593));
  return fmix32(h ^ Math.imul(lane + 1, 0xe6546b64));
}

/** A uniform in [0, 1) with 53 random bits, a pure function of its arguments (all integers). */
export function counterUniform(seed: number, stream: number, position: number, index = 0): number {
  const hi = hashWords(seed, stream, position, index, 0) >>> 5; // 27 bits
  const lo = hashWords(seed, stream, position, index, 1) >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** A standard Gumbel variate `-log(-log u)`, drawn from the counter stream. */
export function counterGumbel(seed: number, stream: number, position: number, index: number): number {
  const u = counterUniform(seed, stream, position, index);
  return -Math.log(-Math.log(u + Number.EPSILON));
}
