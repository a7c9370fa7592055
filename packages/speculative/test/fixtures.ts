import type { LanguageModel } from '@densessm/models';
import {
  CompositeDrafter,
  type Drafter,
  DraftModelDrafter,
  type GenerateOptions,
  generate,
  MedusaHeadsDrafter,
  PassLookaheadDrafter,
  PromptLookupDrafter,
  TokenRecyclingDrafter,
} from '../src/index.js';
import { counterUniform } from '../src/random.js';
import { ToyLanguageModel } from '../src/testing.js';

export const vocabSize = 48;
export const hiddenSize = 12;

export function toyTarget(): ToyLanguageModel {
  return new ToyLanguageModel({ vocabSize, hiddenSize, seed: 7 });
}

/** Same weights with a perturbed LM head: agrees with the target often, not always. */
export function toyDraft(): ToyLanguageModel {
  return new ToyLanguageModel({ vocabSize, hiddenSize, seed: 7, headNoise: 0.35 });
}

function randomVector(length: number, stream: number, scale: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => (counterUniform(99, stream, i) * 2 - 1) * scale);
}

/** Every drafter kind (and the composite of all of them), freshly built for the toy target. */
export function drafterFactories(target: ToyLanguageModel): Record<string, () => Drafter> {
  const heads = [1, 2, 3].map((k) => ({
    weight: randomVector(hiddenSize * hiddenSize, 10 + k, 0.3),
    bias: randomVector(hiddenSize, 20 + k, 0.1),
  }));
  const lookahead = [1, 2, 3].map((k) => randomVector(hiddenSize, 30 + k, 1));
  const medusa = () => new MedusaHeadsDrafter({ heads, lmHead: target.lmHead, vocabSize, hiddenSize });
  return {
    'prompt-lookup': () => new PromptLookupDrafter(),
    'token-recycling': () => new TokenRecyclingDrafter({ vocabSize }),
    'draft-model': () => new DraftModelDrafter({ model: toyDraft() }),
    'medusa-heads': medusa,
    'pass-lookahead': () => new PassLookaheadDrafter({ embeddings: lookahead }),
    composite: () =>
      new CompositeDrafter([
        new PromptLookupDrafter(),
        new TokenRecyclingDrafter({ vocabSize }),
        new DraftModelDrafter({ model: toyDraft() }),
        medusa(),
        new PassLookaheadDrafter({ embeddings: lookahead }),
      ]),
  };
}

/** Prompts of different lengths, some repetitive (so copying drafters have something to find). */
export function prompts(count: number): Int32Array[] {
  return Array.from({ length: count }, (_, i) => {
    const length = 3 + ((i * 7) % 23);
    return Int32Array.from(
      { length },
      (_, k) => (i % 2 === 0 ? (k * 5 + i) % vocabSize : (k % 6) * 7 + i) % vocabSize,
    );
  });
}

export async function collect(
  model: LanguageModel,
  inputs: readonly Int32Array[],
  options: GenerateOptions,
): Promise<{ tokens: number[][]; metrics: Awaited<ReturnType<typeof generate>['done']> }> {
  const run = generate(model, inputs, options);
  const tokens = await Promise.all(
    run.sequences.map(async (stream) => {
      const out: number[] = [];
      for await (const t of stream) out.push(t.token);
      return out;
    }),
  );
  return { tokens, metrics: await run.done };
}
