/** A tiny dense_retnet config: d 64, Q 32, 2 heads (dk 16), E 128 (dv 64), vocab 97. */
export function tinyRetNetConfig(denseBlockLayers: number, layers = 4) {
  return {
    model_type: 'dense_retnet',
    hidden_size: 64,
    query_key_dim: 32,
    num_attention_heads: 2,
    v_factor: 2,
    num_hidden_layers: layers,
    vocab_size: 97,
    rms_norm_eps: 1e-6,
    dense_block_layers: denseBlockLayers,
  };
}
