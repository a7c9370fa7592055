import type { EngineInfo, EngineRequest, SpeculationSummary } from './engine.js';

/**
 * What the scheduler drives, inside the inference thread: the model, its tokenizer and the speculative
 * machinery behind one batch-shaped interface. Sequences join (`admit`) and leave (`release`) between rounds,
 * which is all continuous batching needs. Text-level work (chat template, detokenization, stop strings) is the
 * core's, because it owns the tokenizer.
 */
export interface CoreSequence {
  readonly requestId: string;
  readonly promptTokens: number;
  /** The drafter actually used (`'none'` for plain decoding). */
  readonly drafter: string;
}

export interface RoundOutput {
  /** New text, already stop-string-trimmed; a possible stop-string prefix is held back until resolved. */
  text: string;
  /** Tokens generated this round (counts toward max_tokens and usage). */
  tokens: number;
  finished: 'stop' | 'length' | null;
}

/** A request the core refuses for a reason of its own (prompt longer than the context, unknown drafter). */
export class CoreRequestError extends Error {
  override readonly name = 'CoreRequestError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface BatchCore {
  readonly info: EngineInfo;
  /** Templates, tokenizes and prefills new requests (one batched prefill). */
  admit(requests: readonly EngineRequest[]): Promise<(CoreSequence | CoreRequestError)[]>;
  /** One speculative round (draft, verify, commit) for every given sequence; outputs in the same order. */
  round(sequences: readonly CoreSequence[]): Promise<RoundOutput[]>;
  /** Frees a sequence's state slot (ending it if still running); returns its speculation counters. */
  release(sequence: CoreSequence): SpeculationSummary | null;
  dispose(): Promise<void>;
}

/** How the inference thread builds its core. Plain data: it crosses the worker boundary as `workerData`. */
export type CoreSpec =
  | { kind: 'fake'; options?: FakeCoreOptions }
  | {
      kind: 'model';
      folder: string;
      modelId: string;
      threads: number | null;
      defaultDrafter: string;
      /** A small model with the same tokenizer, for the `draft-model` drafter and `auto`. */
      draftFolder?: string | null;
    };

export interface FakeCoreOptions {
  modelId?: string;
  /** Milliseconds each round blocks its thread (like onnxruntime-node's synchronous run). */
  roundMs?: number;
  /** Extra blocking milliseconds per sequence in the round. */
  perSequenceMs?: number;
  /** Milliseconds a prefill blocks. */
  prefillMs?: number;
  /** Longest accepted draft per round. */
  maxDraftLength?: number;
  contextLength?: number;
  /** Test hook: the inference thread exits during this round (1-based), as if the runtime had crashed. */
  crashAtRound?: number;
}
