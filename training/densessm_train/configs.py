"""Model shapes used by the runs (vocab 8192 = the trained byte-level BPE)."""
V = 8192
# paper comparison (issue #4): each pair has the same width/depth; dense tensors add <1.5% parameters
CMP = {
    "dense_retnet_m2": dict(model_type="dense_retnet", hidden_size=256, query_key_dim=128, num_attention_heads=2,
                            v_factor=2, num_hidden_layers=8, vocab_size=V, dense_block_layers=2),
    "retnet_m0": dict(model_type="dense_retnet", hidden_size=256, query_key_dim=128, num_attention_heads=2,
                      v_factor=2, num_hidden_layers=8, vocab_size=V, dense_block_layers=0),
    "dense_mamba_m2": dict(model_type="dense_mamba", hidden_size=256, intermediate_size=512, state_size=16,
                           time_step_rank=16, conv_kernel=4, num_hidden_layers=12, vocab_size=V,
                           dense_block_layers=2, tie_word_embeddings=True),
    "mamba": dict(model_type="mamba", hidden_size=256, intermediate_size=512, state_size=16, time_step_rank=16,
                  conv_kernel=4, num_hidden_layers=12, vocab_size=V, tie_word_embeddings=True),
}
# shipped default: target and its ~1/10 draft
TARGET = dict(model_type="dense_retnet", hidden_size=512, query_key_dim=256, num_attention_heads=2, v_factor=2,
              num_hidden_layers=8, vocab_size=V, dense_block_layers=2)
DRAFT = dict(model_type="dense_retnet", hidden_size=128, query_key_dim=64, num_attention_heads=2, v_factor=2,
             num_hidden_layers=4, vocab_size=V, dense_block_layers=2)
