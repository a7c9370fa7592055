import type { LanguageModel } from '@densessm/models';
import { float16ToFloat32Array } from '@densessm/tensor';
import { CompositeDrafter } from './composite-drafter.js';
import type { Drafter } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { type MedusaHead, MedusaHeadsDrafter } from './medusa-heads-drafter.js';
import { PassLookaheadDrafter } from './pass-lookahead-drafter.js';
import { PromptLookupDrafter } from './prompt-lookup-drafter.js';
import { TokenRecyclingDrafter } from './token-recycling-drafter.js';

/** A tensor as safetensors readers return it (`@densessm/tensor`'s `Tensor` fits); float16 travels as raw bits. */
export interface NamedTensor {
  readonly dtype?: string;
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
  return t.dtype === 'float16' ? float16ToFloat32Array(Uint16Array.from(t.data)) : Float32Array.from(t.data);
}

/**
 * Medusa heads from `medusa_heads.safetensors` (models/README.md): `medusa_heads.{i}.weight [hidden, hidden]`
 * and `medusa_heads.{i}.bias [hidden]` for i = 0, 1, ... (head i predicts t+2+i, i.e. depth i + 1 below the
 * root), fp16 or fp32, through the target's own LM head (`lmHeadWeights()`).
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
  for (let k = 0; tensors.has(`medusa_heads.${k}.weight`); k++) {
    heads.push({
      weight: tensor(tensors, `medusa_heads.${k}.weight`, [d, d], file),
      bias: tensor(tensors, `medusa_heads.${k}.bias`, [d], file),
    });
  }
  if (heads.length === 0)
    throw new SpeculativeError(
      'MODEL_MISMATCH',
      `${file} holds no medusa_heads.0.weight: it is not a Medusa heads file.`,
    );
  return new MedusaHeadsDrafter({ heads, lmHead, vocabSize, hiddenSize: d });
}

/** PaSS lookahead embeddings from `lookahead.safetensors` (models/README.md): `lookahead.embeddings [k, hidden]`. */
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
}

/**
 * The drafter `auto` names in the CLI, server and web demo: prompt lookup + Token Recycling, the training-free
 * pair that paid on CPU in `bench/results/speculative-*.json` (batch 1: 1.09-1.45x, identical output). The
 * trained drafters (draft model, Medusa heads, PaSS lookahead) accept more tokens per pass but cost more than
 * they save on CPU today (0.26-0.71x in the same runs: the heads and the draft model run as extra passes), so
 * they are chosen by name, not by `auto`.
 */
export function autoDrafter(options: AutoDrafterOptions): Drafter {
  return new CompositeDrafter([
    new PromptLookupDrafter(),
    new TokenRecyclingDrafter({ vocabSize: options.target.vocabSize }),
  ]);
}
