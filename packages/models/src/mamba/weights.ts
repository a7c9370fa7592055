import type { WeightSpec } from '../weights.js';
import { denseSources, type MambaConfig } from './config.js';

/** Tensor names (exactly Hugging Face `MambaForCausalLM`, plus the dense_mamba fusion tensors). */
export const mambaNames = {
  embedding: 'backbone.embeddings.weight',
  embeddingAlias: 'backbone.embedding.weight',
  normF: 'backbone.norm_f.weight',
  lmHead: 'lm_head.weight',
  layer: (i: number, rest: string) => `backbone.layers.${i}.${rest}`,
} as const;

/** Every tensor a `mamba` / `dense_mamba` checkpoint holds, with its shape from the config (SPEC.md). */
export function mambaWeightSpecs(c: MambaConfig): WeightSpec[] {
  const { hiddenSize: d, intermediateSize: e, stateSize: n, timeStepRank: r, convKernel: k } = c;
  const specs: WeightSpec[] = [
    { name: mambaNames.embedding, shape: [c.vocabSize, d], aliases: [mambaNames.embeddingAlias] },
    { name: mambaNames.normF, shape: [d] },
  ];
  // As in Hugging Face, tie_word_embeddings (default true) makes the head the embedding; an untied config
  // without lm_head.weight is tied too (DESIGN.md section 3).
  if (!c.tieWordEmbeddings) specs.push({ name: mambaNames.lmHead, shape: [c.vocabSize, d], optional: true });
  for (let i = 0; i < c.numLayers; i++) {
    const at = (rest: string, shape: number[]) => specs.push({ name: mambaNames.layer(i, rest), shape });
    at('norm.weight', [d]);
    at('mixer.in_proj.weight', [2 * e, d]);
    if (c.useBias) at('mixer.in_proj.bias', [2 * e]);
    at('mixer.conv1d.weight', [e, 1, k]);
    if (c.useConvBias) at('mixer.conv1d.bias', [e]);
    at('mixer.x_proj.weight', [r + 2 * n, e]);
    at('mixer.dt_proj.weight', [e, r]);
    at('mixer.dt_proj.bias', [e]);
    at('mixer.A_log', [e, n]);
    at('mixer.D', [e]);
    at('mixer.out_proj.weight', [d, e]);
    if (c.useBias) at('mixer.out_proj.bias', [d]);
    if (denseSources(c, i).length > 0) {
      at('mixer.x_select.fc1.weight', [c.selectWidth, d]);
      at('mixer.x_select.fc2.weight', [e, c.selectWidth]);
      at('mixer.x_norm.weight', [e]);
    }
  }
  return specs;
}
