import { SpeculativeError } from './errors.js';

/** How the target's next-token distribution is shaped before a token is chosen (HF `generate` order). */
export interface SamplingOptions {
  /** 0 (the default) is greedy decoding; > 0 divides the logits before the softmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (ties at the k-th value are kept). */
  topK?: number;
  /** Keep the smallest most-likely set whose probability reaches p (nucleus sampling, Holtzman et al. 2020). */
  topP?: number;
  /** CTRL-style penalty (Keskar et al. 2019): logits of tokens already in the context are divided (> 0) or multiplied (< 0) by it. */
  repetitionPenalty?: number;
  /** Seed of the counter-based generator; the same seed gives the same tokens. */
  seed?: number;
}

export function isGreedy(options: SamplingOptions): boolean {
  return !options.temperature;
}

export function validateSamplingOptions(options: SamplingOptions): void {
  const { temperature = 0, topK, topP, repetitionPenalty = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new SpeculativeError(
      'INVALID_OPTION',
      `temperature must be a finite number >= 0, got ${temperature}.`,
    );
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) {
    throw new SpeculativeError(
      'INVALID_OPTION',
      `topK must be an integer >= 1 (omit it to keep all tokens), got ${topK}.`,
    );
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new SpeculativeError(
      'INVALID_OPTION',
      `topP must be in (0, 1] (omit it to keep all tokens), got ${topP}.`,
    );
  }
  if (!(repetitionPenalty > 0) || !Number.isFinite(repetitionPenalty)) {
    throw new SpeculativeError(
      'INVALID_OPTION',
      `repetitionPenalty must be a finite number > 0 (1 disables it), got ${repetitionPenalty}.`,
    );
  }
}

/**
 * The tokens a repetition penalty applies to at one tree node: those of the committed context (a mask) and
 * those on the node's own path in the tree, which are context for that node but not for its siblings.
 */
export interface PenaltyContext {
  readonly seen: Uint8Array;
  readonly path: readonly number[];
}

function penalized(value: number, penalty: number): number {
  return value > 0 ? value / penalty : value * penalty;
}

function isPenalized(token: number, context: PenaltyContext): boolean {
  return context.seen[token] === 1 || context.path.includes(token);
}

/** The greedy choice: argmax of the (penalised) logits, lowest index on exact ties. */
export function greedyToken(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  penalty = 1,
  context?: PenaltyContext,
): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  const applyPenalty = penalty !== 1 && context !== undefined;
  for (let v = 0; v < vocabSize; v++) {
    let value = logits[offset + v];
    if (applyPenalty && isPenalized(v, context)) value = penalized(value, penalty);
    if (value > bestValue) {
      bestValue = value;
      best = v;
    }
  }
  return best;
}

/** Smallest value among the `count` largest of `values` (a sorted copy; fine at the few nodes a verifier visits). */
function kthLargest(values: Float64Array, count: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, sorted.length - count)];
}

/**
 * The sampling distribution over the vocabulary for one logits row: repetition penalty, temperature,
 * softmax, top-k, top-p, renormalised. Speculative sampling applies the same shaping to the target's p and
 * the draft's q (DESIGN.md section 5), so acceptance `min(1, p/q)` compares the distributions actually sampled.
 */
export function samplingDistribution(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  options: SamplingOptions,
  context?: PenaltyContext,
): Float64Array {
  const temperature = options.temperature || 1;
  const penalty = options.repetitionPenalty ?? 1;
  const scaled = new Float64Array(vocabSize);
  let max = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < vocabSize; v++) {
    let value = logits[offset + v];
    if (penalty !== 1 && context !== undefined && isPenalized(v, context)) value = penalized(value, penalty);
    value /= temperature;
    scaled[v] = value;
    if (value > max) max = value;
  }
  if (options.topK !== undefined && options.topK < vocabSize) {
    const threshold = kthLargest(scaled, options.topK);
    for (let v = 0; v < vocabSize; v++) if (scaled[v] < threshold) scaled[v] = Number.NEGATIVE_INFINITY;
  }
  let total = 0;
  for (let v = 0; v < vocabSize; v++) {
    const e = Math.exp(scaled[v] - max);
    scaled[v] = e;
    total += e;
  }
  for (let v = 0; v < vocabSize; v++) scaled[v] /= total;
  if (options.topP !== undefined && options.topP < 1) {
    const sorted = Float64Array.from(scaled).sort().reverse();
    let mass = 0;
    let threshold = sorted[0];
    for (const p of sorted) {
      mass += p;
      threshold = p;
      if (mass >= options.topP) break;
    }
    let kept = 0;
    for (let v = 0; v < vocabSize; v++) {
      if (scaled[v] < threshold) scaled[v] = 0;
      else kept += scaled[v];
    }
    for (let v = 0; v < vocabSize; v++) scaled[v] /= kept;
  }
  return scaled;
}

/** Inverse-CDF draw from a distribution with the uniform `u`; never returns a zero-probability token. */
export function sampleFromDistribution(distribution: Float64Array, u: number): number {
  let total = 0;
  for (let v = 0; v < distribution.length; v++) total += distribution[v];
  const target = u * total;
  let cumulative = 0;
  let last = -1;
  for (let v = 0; v < distribution.length; v++) {
    const p = distribution[v];
    if (p <= 0) continue;
    cumulative += p;
    last = v;
    if (target < cumulative) return v;
  }
  if (last < 0)
    throw new SpeculativeError(
      'MODEL_OUTPUT',
      'Cannot sample from an all-zero distribution: check the logits for NaN.',
    );
  return last;
}
