import type { LanguageModel } from '@densessm/models';
import { InterruptedError, UsageError } from './errors.js';

export interface PerplexityOptions {
  /** Tokens of context per window (W). */
  readonly window: number;
  /** Tokens between window starts (S <= W); each window scores its last S tokens. */
  readonly stride: number;
  /** Tokens verified per model pass while scoring (a chain tree). */
  readonly chunk?: number;
  readonly signal?: AbortSignal;
  /** Called after each pass with the number of tokens scored so far. */
  readonly onProgress?: (scored: number, total: number) => void;
}

export interface PerplexityResult {
  /** exp(mean negative log-likelihood), natural log. */
  readonly perplexity: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  readonly meanNll: number;
  /** Tokens whose probability was scored: every token but the first. */
  readonly scoredTokens: number;
  readonly windows: number;
}

/** One window: fresh state, context tokens [start, first), scored targets [first, end). */
export interface ScoringWindow {
  readonly start: number;
  readonly first: number;
  readonly end: number;
}

/**
 * Strided sliding windows (the usual fixed-length-model perplexity, e.g. the Hugging Face guide): window k spans
 * [kS, kS + W) and scores the targets its predecessor did not reach, so every token after the first is scored
 * exactly once, with at least W - S tokens of context (all of them in the first window). A window needs one
 * token of context, so with S = W each window also reads the token just before it.
 */
export function scoringWindows(tokenCount: number, window: number, stride: number): ScoringWindow[] {
  if (!(window >= 2)) throw new UsageError(`--window must be at least 2, got ${window}`, 'INVALID_OPTION');
  if (!(stride >= 1 && stride <= window)) {
    throw new UsageError(
      `--stride must be between 1 and --window (${window}), got ${stride}`,
      'INVALID_OPTION',
    );
  }
  const windows: ScoringWindow[] = [];
  let reached = 1;
  for (let start = 0; reached < tokenCount; start += stride) {
    const end = Math.min(start + window, tokenCount);
    if (end <= reached) continue;
    const first = reached;
    windows.push({ start: Math.min(start, first - 1), first, end });
    reached = end;
  }
  return windows;
}

/** -log softmax(logits)[target], computed stably in float64. */
export function negativeLogLikelihood(
  logits: Float32Array,
  offset: number,
  vocab: number,
  target: number,
): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  return Math.log(sum) + max - logits[offset + target];
}

/**
 * Perplexity of `tokens` under `model`. Each window prefills its context, then scores its targets in chains of
 * `chunk` tokens: one `verify` gives the logits after every token of the chain and `commit` folds the chain into
 * the state, so the text is read once, in parallel passes, through the same protocol speculative decoding uses.
 */
export async function computePerplexity(
  model: LanguageModel,
  tokens: Int32Array,
  options: PerplexityOptions,
): Promise<PerplexityResult> {
  if (tokens.length < 2) {
    throw new UsageError(`need at least 2 tokens to score, the text has ${tokens.length}`, 'INVALID_OPTION');
  }
  const chunk = options.chunk ?? 32;
  const vocab = model.vocabSize;
  const windows = scoringWindows(tokens.length, options.window, options.stride);
  const total = tokens.length - 1;
  let nllSum = 0;
  let scored = 0;
  for (const w of windows) {
    const state = model.newState();
    const [prefilled] = await model.prefill([{ state, tokens: tokens.subarray(w.start, w.first) }]);
    let last = prefilled.logits;
    let lastOffset = 0;
    for (let pos = w.first; pos < w.end; pos += chunk) {
      if (options.signal?.aborted) throw new InterruptedError();
      const length = Math.min(chunk, w.end - pos);
      nllSum += negativeLogLikelihood(last, lastOffset, vocab, tokens[pos]);
      scored++;
      if (length === 1 && pos + 1 >= w.end) {
        options.onProgress?.(scored, total);
        break;
      }
      const chain = tokens.slice(pos, pos + length);
      const parents = Int32Array.from({ length }, (_, i) => i - 1);
      const [verified] = await model.verify([{ state, tree: { tokens: chain, parents } }]);
      for (let i = 0; i + 1 < length; i++) {
        nllSum += negativeLogLikelihood(verified.logits, i * vocab, vocab, chain[i + 1]);
        scored++;
      }
      if (pos + length < w.end) {
        last = verified.logits;
        lastOffset = (length - 1) * vocab;
        await model.commit([{ state, verified, path: Array.from({ length }, (_, i) => i) }]);
      }
      options.onProgress?.(scored, total);
    }
  }
  if (scored !== total) throw new Error(`scored ${scored} of ${total} tokens: window bookkeeping is wrong`);
  const meanNll = nllSum / scored;
  return { perplexity: Math.exp(meanNll), meanNll, scoredTokens: scored, windows: windows.length };
}
