import type { Backend } from '@densessm/tensor';

/**
 * A token tree to verify for one sequence (DESIGN.md section 4). Nodes are in topological order:
 * `parents[i] < i`, and `parents[i] === -1` marks a root, i.e. a node whose parent is the committed context.
 * A chain is a tree with one child per node. Node i sees exactly its ancestors and itself (plus the state).
 */
export interface TokenTree {
  readonly tokens: Int32Array;
  readonly parents: Int32Array;
  /**
   * PaSS lookahead nodes: nodes whose input embedding is given here instead of looked up from their token.
   * Such nodes are never committed. `vectors` holds `nodes.length * hiddenSize` floats.
   */
  readonly embeddingOverrides?: { readonly nodes: Int32Array; readonly vectors: Float32Array };
}

/** The per-sequence recurrent state: fixed size, whatever the context length. Owned by the model that made it. */
export interface SequenceState {
  /** Tokens folded into this state so far (the absolute position of the next token). */
  readonly position: number;
  /** An independent copy (e.g. to fork a draft). */
  clone(): SequenceState;
  /** Size of the state in bytes. */
  readonly byteSize: number;
}

export interface ForwardOutput {
  /** Logits after the last fed token: `vocabSize` floats. */
  readonly logits: Float32Array;
  /** Final hidden state (after the last norm, the LM head's input): `hiddenSize` floats, when asked for. */
  readonly hidden?: Float32Array;
}

export interface VerifyOutput {
  readonly nodeCount: number;
  /** `nodeCount * vocabSize` floats: row i predicts the token after the path ending at node i. */
  readonly logits: Float32Array;
  /** `nodeCount * hiddenSize` floats, when asked for. */
  readonly hidden?: Float32Array;
  /** What each node would add to the state (opaque to callers); consumed by `commit`. */
  readonly deltas: unknown;
}

export interface OutputOptions {
  /** Also return final hidden states (for Medusa/Hydra heads). */
  hidden?: boolean;
}

/**
 * The contract `speculative` sees (DESIGN.md section 4). Every method takes a ragged batch: one item per
 * sequence, each with its own state, token count and tree; nothing is padded to a common length.
 * `prefill`, `step` and `commit` advance the states they are given; `verify` leaves them untouched.
 */
export interface LanguageModel {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  newState(): SequenceState;
  /** Feeds whole prompts (chunkwise-parallel); returns the logits after each prompt's last token. */
  prefill(
    items: readonly { state: SequenceState; tokens: Int32Array }[],
    options?: OutputOptions,
  ): Promise<ForwardOutput[]>;
  /** Feeds one token per sequence. */
  step(
    items: readonly { state: SequenceState; token: number }[],
    options?: OutputOptions,
  ): Promise<ForwardOutput[]>;
  /** Scores every node of every tree in one pass without changing the states. */
  verify(
    items: readonly { state: SequenceState; tree: TokenTree }[],
    options?: OutputOptions,
  ): Promise<VerifyOutput[]>;
  /** Folds each accepted root-to-node path (node indices, root first) of a verified tree into its state. */
  commit(
    items: readonly { state: SequenceState; verified: VerifyOutput; path: readonly number[] }[],
  ): Promise<void>;
  dispose(): Promise<void>;
  /**
   * The LM head as `[vocabSize, hiddenSize]` row-major fp32 (the embedding when tied), for drafters that reuse
   * it (Medusa/Hydra heads). Optional: models without a plain linear head leave it out. Treat as read-only.
   */
  lmHeadWeights?(): Float32Array;
}

export interface LoadModelOptions {
  backend: Backend;
  /** Threads for the backend's sessions. */
  threads?: number;
}
