/**
 * Test-only helpers (not exported from the package): tiny `mamba` / `dense_mamba` configs in the Hugging Face
 * layout and a Mamba-style init for the core's `randomWeights(config, seed, custom)`.
 */
import type { RawConfig } from '../config.js';

/**
 * A tiny HF-style `mamba` config: d 32, E 48, N 8, R 4, K 4, 3 layers, vocab 61, with its own lm_head (random
 * N(0, 1/d) rows keep logits O(1); a head tied to the N(0, 1) test embedding makes them ~20 and fp32 rounding
 * alone then reaches 1e-4; tied heads are tested in mamba.test.ts and against PyTorch in golden.test.ts).
 */
export function tinyMambaConfig(overrides: Record<string, unknown> = {}): RawConfig {
  return {
    model_type: 'mamba',
    architectures: ['MambaForCausalLM'],
    vocab_size: 61,
    hidden_size: 32,
    intermediate_size: 48,
    state_size: 8,
    time_step_rank: 4,
    conv_kernel: 4,
    num_hidden_layers: 3,
    layer_norm_epsilon: 1e-5,
    use_conv_bias: true,
    use_bias: false,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    ...overrides,
  };
}

export function tinyDenseMambaConfig(denseBlockLayers: number, layers = 3): RawConfig {
  return tinyMambaConfig({
    model_type: 'dense_mamba',
    dense_block_layers: denseBlockLayers,
    num_hidden_layers: layers,
  });
}

/**
 * Mamba's own init for the SSM parameters (mamba_simple.py): A_log = log(1..N) per channel, dt_proj.bias =
 * softplus^-1(dt) with dt log-uniform in [dtMin, dtMax]. Other tensors keep the default (returns undefined).
 */
export function mambaInit(dtMin = 0.001, dtMax = 0.1) {
  return (name: string, shape: readonly number[], rng: () => number): Float32Array | undefined => {
    if (name.endsWith('mixer.A_log')) {
      const [e, n] = shape;
      return Float32Array.from({ length: e * n }, (_, i) => Math.log(1 + (i % n)));
    }
    if (name.endsWith('mixer.dt_proj.bias')) {
      return Float32Array.from({ length: shape[0] }, () => {
        const dt = Math.exp(Math.log(dtMin) + rng() * (Math.log(dtMax) - Math.log(dtMin)));
        return dt + Math.log(-Math.expm1(-dt));
      });
    }
    return undefined;
  };
}
