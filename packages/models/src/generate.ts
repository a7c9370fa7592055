import { ModelError } from './errors.js';
import type { LanguageModel } from './language-model.js';

/** Sampling knobs applied to the logits, in this order: temperature, top-k, top-p (nucleus). */
export interface SamplingOptions {
  /** Divides the logits; 0 means greedy [1]. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 = off [0]. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off [1]. */
  topP?: number;
  /** Seed of the PRNG, so a run can be repeated [0]. */
  seed?: number;
}

/** A small seeded PRNG (mulberry32): uniform floats in [0, 1). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest logit (the first one on ties). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * The distribution plain sampling draws from: softmax(logits / temperature) restricted by top-k then top-p and
 * renormalised. Returned as probabilities over the whole vocabulary (zeros outside the kept set).
 */
export function samplingDistribution(logits: ArrayLike<number>, options: SamplingOptions = {}): Float64Array {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new ModelError(
      'INVALID_INPUT',
      `temperature must be a positive number (0 means greedy), got ${temperature}`,
    );
  }
  if (!Number.isInteger(topK) || topK < 0)
    throw new ModelError('INVALID_INPUT', `topK must be an integer >= 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new ModelError('INVALID_INPUT', `topP must be in (0, 1], got ${topP}`);
  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  const keep = topK > 0 ? Math.min(topK, n) : n;
  const max = logits[order[0]];
  const probs = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < keep; r++) {
    const p = Math.exp((logits[order[r]] - max) / temperature);
    probs[order[r]] = p;
    total += p;
  }
  let mass = 0;
  let kept = 0;
  while (kept < keep && mass < topP * total) mass += probs[order[kept++]];
  for (let r = kept; r < keep; r++) probs[order[r]] = 0;
  for (let r = 0; r < kept; r++) probs[order[r]] /= mass;
  return probs;
}

/** Draws a token from logits under `options` with `rng`; temperature 0 is argmax. */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: () => number): number {
  if (options.temperature === 0) return argmax(logits);
  const probs = samplingDistribution(logits, options);
  let u = rng();
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    last = i;
    u -= probs[i];
    if (u < 0) return i;
  }
  return last;
}

/**
 * Plain autoregressive generation (the baseline speculative decoding is measured against): prefill the prompt,
 * then one `step` per token. Returns the `count` new tokens.
 */
export async function generateSampled(
  model: LanguageModel,
  prompt: Int32Array,
  count: number,
  options: SamplingOptions = {},
): Promise<Int32Array> {
  if (!Number.isInteger(count) || count < 0)
    throw new ModelError('INVALID_INPUT', `count must be an integer >= 0, got ${count}`);
  const out = new Int32Array(count);
  if (count === 0) return out;
  const rng = createRng(options.seed ?? 0);
  const state = model.newState();
  let [{ logits }] = await model.prefill([{ state, tokens: prompt }]);
  for (let i = 0; i < count; i++) {
    out[i] = sampleToken(logits, options, rng);
    if (i + 1 < count) [{ logits }] = await model.step([{ state, token: out[i] }]);
  }
  return out;
}

/** Greedy decoding: `generateSampled` with temperature 0. */
export function generateGreedy(model: LanguageModel, prompt: Int32Array, count: number): Promise<Int32Array> {
  return generateSampled(model, prompt, count, { temperature: 0 });
}
