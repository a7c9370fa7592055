import type { BaseModelConfig, ConfigReader } from '../config.js';
import { ModelError } from '../errors.js';

/**
 * A parsed `mamba` (Hugging Face `MambaForCausalLM`) or `dense_mamba` config (SPEC.md). Missing optional keys take
 * the Hugging Face `MambaConfig` defaults, so a real HF `config.json` loads unchanged.
 */
export interface MambaConfig extends BaseModelConfig {
  readonly modelType: 'mamba' | 'dense_mamba';
  /** E: width of the inner x / z streams (`intermediate_size`, else `expand * hidden_size`). */
  readonly intermediateSize: number;
  /** N: SSM state size per channel. */
  readonly stateSize: number;
  /** R: rank of the dt projection (`"auto"` = ceil(hidden_size / 16)). */
  readonly timeStepRank: number;
  /** K: causal conv kernel width. */
  readonly convKernel: number;
  readonly layerNormEpsilon: number;
  readonly useConvBias: boolean;
  /** in_proj / out_proj biases. */
  readonly useBias: boolean;
  /** m: how many earlier layers' pre-conv x each layer fuses (0 for `mamba`: the plain model). */
  readonly denseBlockLayers: number;
  /** Hidden width of the x_select gate MLP: floor(hidden_size / 32) (SPEC.md, dense connections). */
  readonly selectWidth: number;
}

export const MAMBA_MODEL_TYPES = ['mamba', 'dense_mamba'] as const;

function modelTypeOf(reader: ConfigReader): MambaConfig['modelType'] {
  const type = reader.raw.model_type;
  if (type !== 'mamba' && type !== 'dense_mamba') {
    throw new ModelError(
      'INVALID_CONFIG',
      `${reader.file}: key 'model_type' must be "mamba" or "dense_mamba" for this definition, got ${JSON.stringify(type)}`,
    );
  }
  return type;
}

function timeStepRankOf(reader: ConfigReader, hiddenSize: number): number {
  const raw = reader.raw.time_step_rank;
  if (raw === undefined || raw === null || raw === 'auto') return Math.ceil(hiddenSize / 16);
  return reader.int('time_step_rank', { min: 1 });
}

/** Parses and validates a `mamba` / `dense_mamba` config.json (errors name the file and key). */
export function parseMambaConfig(reader: ConfigReader): MambaConfig {
  const { raw } = reader;
  const modelType = modelTypeOf(reader);
  const hiddenSize = reader.int('hidden_size', { min: 1 });
  const act = raw.hidden_act ?? 'silu';
  reader.check(
    act === 'silu',
    `'hidden_act' must be "silu" (the only activation Mamba defines), got ${JSON.stringify(act)}`,
  );
  const expand = reader.number('expand', { min: 0, default: 2 });
  const denseBlockLayers = modelType === 'dense_mamba' ? reader.int('dense_block_layers', { min: 0 }) : 0;
  const selectWidth = Math.floor(hiddenSize / 32);
  reader.check(
    denseBlockLayers === 0 || selectWidth > 0,
    `dense_block_layers = ${denseBlockLayers} needs hidden_size >= 32 (x_select is floor(hidden_size/32) wide), got ${hiddenSize}`,
  );
  return {
    modelType,
    vocabSize: reader.int('vocab_size', { min: 1 }),
    hiddenSize,
    numLayers: reader.int('num_hidden_layers', { min: 1 }),
    tieWordEmbeddings: reader.bool('tie_word_embeddings', true),
    intermediateSize: reader.int('intermediate_size', { min: 1, default: Math.floor(expand * hiddenSize) }),
    stateSize: reader.int('state_size', { min: 1, default: 16 }),
    timeStepRank: timeStepRankOf(reader, hiddenSize),
    convKernel: reader.int('conv_kernel', { min: 2, default: 4 }),
    layerNormEpsilon: reader.number('layer_norm_epsilon', { min: 0, default: 1e-5 }),
    useConvBias: reader.bool('use_conv_bias', true),
    useBias: reader.bool('use_bias', true),
    denseBlockLayers,
    selectWidth,
  };
}

/** The earlier layers whose pre-conv x layer `layer` fuses: l-1 .. l-m, fewer near the bottom (SPEC.md). */
export function denseSources(config: MambaConfig, layer: number): number[] {
  const sources: number[] = [];
  for (let p = layer - 1; p >= Math.max(0, layer - config.denseBlockLayers); p--) sources.push(p);
  return sources;
}
