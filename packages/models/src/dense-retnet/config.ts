import type { BaseModelConfig, ConfigReader } from '../config.js';
import type { WeightSpec } from '../weights.js';

/** Parsed `dense_retnet` config (SPEC.md "dense_retnet"). */
export interface DenseRetNetConfig extends BaseModelConfig {
  readonly modelType: 'dense_retnet';
  /** Q: width of q and k over all heads. */
  readonly queryKeyDim: number;
  readonly numHeads: number;
  /** f: value width E = f * d. */
  readonly vFactor: number;
  readonly rmsNormEps: number;
  /** m: how many earlier layers' k/v each layer fuses (0 = plain GAU-RetNet). */
  readonly denseBlockLayers: number;
}

/** Widths derived from a config (SPEC.md: dk = Q/H, E = f*d, dv = E/H, select hidden = floor(d/32)). */
export interface RetNetDims {
  readonly d: number;
  readonly Q: number;
  readonly H: number;
  readonly E: number;
  readonly dk: number;
  readonly dv: number;
  readonly r: number;
  readonly L: number;
  readonly V: number;
}

export function retnetDims(c: DenseRetNetConfig): RetNetDims {
  const E = c.vFactor * c.hiddenSize;
  return {
    d: c.hiddenSize,
    Q: c.queryKeyDim,
    H: c.numHeads,
    E,
    dk: c.queryKeyDim / c.numHeads,
    dv: E / c.numHeads,
    r: Math.floor(c.hiddenSize / 32),
    L: c.numLayers,
    V: c.vocabSize,
  };
}

export function parseDenseRetNetConfig(c: ConfigReader): DenseRetNetConfig {
  const hiddenSize = c.int('hidden_size', { min: 1 });
  const queryKeyDim = c.int('query_key_dim', { min: 1 });
  const numHeads = c.int('num_attention_heads', { min: 1 });
  const vFactor = c.number('v_factor', { min: 0 });
  const E = vFactor * hiddenSize;
  const dk = queryKeyDim / numHeads;
  c.check(
    Number.isInteger(dk) && dk % 2 === 0,
    `'query_key_dim' (${queryKeyDim}) / 'num_attention_heads' (${numHeads}) must be an even integer (rotary pairs)`,
  );
  c.check(
    Number.isInteger(E) && E % numHeads === 0,
    `'v_factor' * 'hidden_size' (${E}) must be an integer divisible by 'num_attention_heads' (${numHeads})`,
  );
  const denseBlockLayers = c.int('dense_block_layers', { min: 0, default: 0 });
  c.check(
    denseBlockLayers === 0 || hiddenSize >= 32,
    `'hidden_size' (${hiddenSize}) must be >= 32 when 'dense_block_layers' > 0 (select MLP width floor(d/32))`,
  );
  return {
    modelType: 'dense_retnet',
    vocabSize: c.int('vocab_size', { min: 1 }),
    hiddenSize,
    numLayers: c.int('num_hidden_layers', { min: 1 }),
    tieWordEmbeddings: c.bool('tie_word_embeddings', false),
    queryKeyDim,
    numHeads,
    vFactor,
    rmsNormEps: c.number('rms_norm_eps', { min: 0, default: 1e-6 }),
    denseBlockLayers,
  };
}

/** True when layer `l` fuses earlier layers' k/v (SPEC.md: l >= 1 and m > 0). */
export function fuses(config: DenseRetNetConfig, l: number): boolean {
  return l >= 1 && config.denseBlockLayers > 0;
}

/** Tensor names and shapes (SPEC.md "dense_retnet"); layer 0's select/norm tensors, if present, are ignored. */
export function denseRetNetWeightSpecs(config: DenseRetNetConfig): WeightSpec[] {
  const { d, Q, E, dv, r, L, V } = retnetDims(config);
  const specs: WeightSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, d] }];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      { name: `${p}input_layernorm.weight`, shape: [d] },
      { name: `${p}self_attn.q_proj.weight`, shape: [Q, d] },
      { name: `${p}self_attn.k_proj.weight`, shape: [Q, d] },
      { name: `${p}self_attn.to_hidden.0.weight`, shape: [2 * E, d] },
      { name: `${p}self_attn.to_out.0.weight`, shape: [d, E] },
      { name: `${p}self_attn.group_norm.weight`, shape: [dv] },
    );
    if (fuses(config, l)) {
      specs.push(
        { name: `${p}self_attn.k_select.fc1.weight`, shape: [r, d] },
        { name: `${p}self_attn.k_select.fc2.weight`, shape: [Q, r] },
        { name: `${p}self_attn.v_select.fc1.weight`, shape: [r, d] },
        { name: `${p}self_attn.v_select.fc2.weight`, shape: [E, r] },
        { name: `${p}self_attn.k_norm.weight`, shape: [Q] },
        { name: `${p}self_attn.v_norm.weight`, shape: [E] },
      );
    }
  }
  specs.push(
    { name: 'model.norm.weight', shape: [d] },
    { name: 'lm_head.weight', shape: [V, d], optional: true },
  );
  return specs;
}

/** Name of layer l's state tensor `[H, dv, dk]` (S^T per head) in `PackedState.tensors` and the reference's. */
export function kvName(l: number): string {
  return `kv.${l}`;
}

/** Names of layer l's pending buffers in `PackedState.pending`: rotated keys k' [H, dk] and values v [H, dv] per row. */
export function pendingKName(l: number): string {
  return `k.${l}`;
}

export function pendingVName(l: number): string {
  return `v.${l}`;
}
