import type { LanguageModel } from '@densessm/models';
import { SpeculativeError } from './errors.js';
import { yieldToEventLoop } from './event-loop.js';
import type { SpeculationMetrics } from './metrics.js';
import { isGreedy } from './sampling.js';
import {
  type SequenceOptions,
  type SequenceResult,
  SpeculativeBatch,
  type SpeculativeBatchOptions,
} from './speculative-batch.js';
import type { GeneratedToken } from './stop-strings.js';

export interface GenerateOptions extends Omit<SequenceOptions, 'prompt'>, SpeculativeBatchOptions {}

/** One sequence's tokens as they are produced; `result` settles when it ends. */
export class TokenStream implements AsyncIterable<GeneratedToken> {
  readonly result: Promise<SequenceResult>;
  private readonly buffered: GeneratedToken[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private settle!: { resolve: (r: SequenceResult) => void; reject: (e: unknown) => void };

  constructor() {
    this.result = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A caller that only iterates must not see an unhandled rejection from `result`.
    this.result.catch(() => {});
  }

  /** @internal Called by the generation loop. */
  push(tokens: readonly GeneratedToken[]): void {
    this.buffered.push(...tokens);
    this.wake();
  }

  /** @internal */
  end(result: SequenceResult): void {
    this.ended = true;
    this.settle.resolve(result);
    this.wake();
  }

  /** @internal */
  fail(error: unknown): void {
    this.ended = true;
    this.failure = error;
    this.settle.reject(error);
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GeneratedToken> {
    for (;;) {
      if (this.buffered.length > 0) {
        yield this.buffered.shift()!;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

export interface Generation {
  /** One stream per prompt, in prompt order. */
  readonly sequences: TokenStream[];
  /** Settles when every sequence has ended, with the batch's totals. */
  readonly done: Promise<SpeculationMetrics>;
}

/**
 * Generates continuations of `prompts` as one speculative batch (plain decoding when `options.drafter` is
 * absent). Sequence i samples with seed `options.seed + i`; with a seed, the same call gives the same tokens
 * (adaptation then sizes trees from the cost prior rather than timings, unless `adaptive.measureCost` says).
 * Aborting `options.signal` ends every sequence within one round. The loop runs ahead of the consumers; tokens are buffered per stream.
 */
export function generate(
  model: LanguageModel,
  prompts: readonly (Int32Array | readonly number[])[],
  options: GenerateOptions = {},
): Generation {
  if (prompts.length === 0)
    throw new SpeculativeError('INVALID_OPTION', 'generate() needs at least one prompt.');
  const { drafter, maxDraftNodes, maxBatchDraftNodes, ...sequenceOptions } = options;
  let adaptive = options.adaptive;
  // Seeded sampling: tree sizes from the cost prior, not from timings, so that the same call gives the same text.
  if (sequenceOptions.seed !== undefined && !isGreedy(sequenceOptions) && adaptive !== false) {
    const given = typeof adaptive === 'object' ? adaptive : {};
    adaptive = { ...given, measureCost: given.measureCost ?? false };
  }
  const batch = new SpeculativeBatch(model, { drafter, maxDraftNodes, maxBatchDraftNodes, adaptive });
  const streams = new Map<number, TokenStream>();
  const sequences = prompts.map((prompt, i) => {
    const stream = new TokenStream();
    const seed = sequenceOptions.seed === undefined ? undefined : sequenceOptions.seed + i;
    streams.set(batch.add({ ...sequenceOptions, seed, prompt }), stream);
    return stream;
  });
  const done = (async () => {
    try {
      while (batch.size > 0) {
        await yieldToEventLoop();
        for (const event of await batch.runRound()) {
          const stream = streams.get(event.sequenceId)!;
          stream.push(event.tokens);
          if (event.result) stream.end(event.result);
        }
      }
      return batch.metrics;
    } catch (error) {
      for (const stream of sequences) stream.fail(error);
      throw error;
    }
  })();
  done.catch(() => {});
  return { sequences, done };
}
