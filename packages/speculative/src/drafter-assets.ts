import type { LanguageModel } from '@densessm/models';
import { CompositeDrafter } from './composite-drafter.js';
import { DraftModelDrafter } from './draft-model-drafter.js';
import type { Drafter } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { type MedusaHead, MedusaHeadsDrafter } from './medusa-heads-drafter.js';
import { PassLookaheadDrafter } from './pass-lookahead-drafter.js';
import { PromptLookupDrafter } from './prompt-lookup-drafter.js';
import { TokenRecyclingDrafter } from './token-recycling-drafter.js';

/** A tensor as safetensors readers return it (`@densessm/tensor`'s `Tensor` fits), fp32 data. */
export interface NamedTensor {
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}

function tensor(
  tensors: ReadonlyMap<string, NamedTensor>,
  name: string,
  dims: readonly number[],
  file: string,
): Float32Array {
  const t = tensors.get(name);
  if (!t)
    throw new SpeculativeError(
      'MODEL_MISMATCH',
      `${file} has no tensor ${name}: export it with training/ for this model.`,
    );
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new SpeculativeError(
      'MODEL_MISMATCH',
      `${file}: ${name} is [${t.dims.join(', ')}], expected [${dims.join(', ')}] for this model.`,
    );
  }
  return Float32Array.from(t.data);
}

/**
 * Medusa heads from a safetensors map: `medusa.{k}.weight [hidden, hidden]` and `medusa.{k}.bias [hidden]`
 * for k = 0, 1, ... (head k drafts depth k + 1), on the target's own LM head (`lmHeadWeights()`).
 */
export function medusaHeadsFromTensors(
  target: LanguageModel,
  tensors: ReadonlyMap<string, NamedTensor>,
  file = 'heads',
): MedusaHeadsDrafter {
  const { hiddenSize: d, vocabSize } = target;
  const lmHead = target.lmHeadWeights?.();
  if (!lmHead)
    throw new SpeculativeError(
      'MODEL_MISMATCH',
      `Model ${target.modelType} exposes no LM head (lmHeadWeights), which Medusa heads project through.`,
    );
  const heads: MedusaHead[] = [];
  for (let k = 0; tensors.has(`medusa.${k}.weight`); k++) {
    heads.push({
      weight: tensor(tensors, `medusa.${k}.weight`, [d, d], file),
      bias: tensor(tensors, `medusa.${k}.bias`, [d], file),
    });
  }
  if (heads.length === 0)
    throw new SpeculativeError(
      'MODEL_MISMATCH',
      `${file} holds no medusa.0.weight: it is not a Medusa heads file.`,
    );
  return new MedusaHeadsDrafter({ heads, lmHead, vocabSize, hiddenSize: d });
}

/** PaSS lookahead embeddings from a safetensors map: `lookahead.embeddings [k, hidden]`. */
export function lookaheadFromTensors(
  target: LanguageModel,
  tensors: ReadonlyMap<string, NamedTensor>,
  file = 'lookahead',
): PassLookaheadDrafter {
  const t = tensors.get('lookahead.embeddings');
  if (t?.dims.length !== 2)
    throw new SpeculativeError('MODEL_MISMATCH', `${file} needs a [k, hidden] tensor lookahead.embeddings.`);
  const [k] = t.dims;
  const all = tensor(tensors, 'lookahead.embeddings', [k, target.hiddenSize], file);
  const embeddings = Array.from({ length: k }, (_, i) =>
    all.subarray(i * target.hiddenSize, (i + 1) * target.hiddenSize),
  );
  return new PassLookaheadDrafter({ embeddings });
}

export interface AutoDrafterOptions {
  target: LanguageModel;
  draftModel?: LanguageModel;
  medusaHeads?: ReadonlyMap<string, NamedTensor>;
  lookahead?: ReadonlyMap<string, NamedTensor>;
}

/**
 * The default drafter: prompt lookup and Token Recycling (free: no model pass), plus whatever trained assets
 * the model ships (a draft model, Medusa heads, lookahead embeddings), merged under one budget.
 */
export function autoDrafter(options: AutoDrafterOptions): Drafter {
  const { target } = options;
  const parts: Drafter[] = [
    new PromptLookupDrafter(),
    new TokenRecyclingDrafter({ vocabSize: target.vocabSize }),
  ];
  if (options.draftModel) parts.push(new DraftModelDrafter({ model: options.draftModel }));
  if (options.medusaHeads) parts.push(medusaHeadsFromTensors(target, options.medusaHeads));
  if (options.lookahead) parts.push(lookaheadFromTensors(target, options.lookahead));
  return new CompositeDrafter(parts);
}
