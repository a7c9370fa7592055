import type { Backend } from '@densessm/tensor';
import type { BaseModelConfig, ConfigReader, RawConfig } from './config.js';
import type { WeightPlacement } from './graph/weight-binder.js';
import type { LanguageModel } from './language-model.js';
import type { ModelWeights, WeightSpec } from './weights.js';

/** Runtime knobs every architecture honours (defaults in brackets). */
export interface RuntimeOptions {
  backend: Backend;
  /** Intra-op threads for every session [backend default]. */
  threads?: number;
  /** Weights as graph initializers or as inputs fed each run ['initializers']. */
  weights?: WeightPlacement;
  /** Tokens per sequence per prefill pass (chunkwise-parallel form) [64]. */
  prefillChunk?: number;
  /**
   * dense_retnet only: tokens a sequence keeps as pending rows before they are folded into its state (SPEC.md
   * "Pending window"); 0 writes the state on every step and commit [32].
   */
  pendingWindow?: number;
}

/**
 * A reference state: the plain recurrence's state after feeding `position` tokens, with the same tensor names
 * and layouts as the graph model's `PackedState.tensors`, so tests can compare them.
 */
export interface ReferenceState {
  readonly position: number;
  readonly tensors: Readonly<Record<string, Float32Array>>;
  clone(): ReferenceState;
}

/** Pure-TypeScript, token-by-token, fp32 implementation of SPEC.md; used only to test the graphs. */
export interface ReferenceModel {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  newState(): ReferenceState;
  /** Feeds one token, advancing `state` in place; returns the logits after it and the final (normed) hidden. */
  feed(state: ReferenceState, token: number): { logits: Float32Array; hidden: Float32Array };
}

/**
 * One model family. The core parses `config.json`, picks the architecture by `model_type` (or `claims`),
 * binds and validates the weights against `weightSpecs`, then calls `createModel`.
 */
export interface Architecture<C extends BaseModelConfig = BaseModelConfig> {
  /** `model_type` values this architecture owns. */
  readonly modelTypes: readonly string[];
  /** Claims a config whose `model_type` is someone else's (released DenseSSM checkpoints say "llama"). */
  claims?(raw: RawConfig): boolean;
  /** Reads and validates the config (throw `ModelError('INVALID_CONFIG')` naming the key). */
  parseConfig(config: ConfigReader): C;
  /** Every tensor the checkpoint must (or may) hold, with its shape under this config. */
  weightSpecs(config: C): readonly WeightSpec[];
  createModel(config: C, weights: ModelWeights, options: RuntimeOptions): Promise<LanguageModel>;
  createReference(config: C, weights: ModelWeights): ReferenceModel;
}
