import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeBackend } from '@densessm/backend-node';
import { type LanguageModel, loadModel, supportedModelTypes } from '@densessm/models';
import { readSafetensorsFile } from '@densessm/tensor/node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CompositeDrafter,
  type Drafter,
  DraftModelDrafter,
  greedyToken,
  MedusaHeadsDrafter,
  PassLookaheadDrafter,
  PromptLookupDrafter,
  TokenRecyclingDrafter,
} from '../src/index.js';
import { counterUniform } from '../src/random.js';
import { collect } from './fixtures.js';

// Tiny random-weight checkpoints of every model type, written by training/ (PyTorch-parity fixtures).
const fixtures = join(import.meta.dirname, '../../../training/fixtures');
const checkpoints = ['dense_retnet_m2', 'dense_retnet_m0', 'mamba_lm_head', 'dense_mamba_m2'];
/** A divergence is tolerated only where plain decoding's top two logits are this close (DESIGN.md section 5). */
const nearTie = 1e-4;
const backend = createNodeBackend({ threads: 1 });
const opened: LanguageModel[] = [];
afterAll(async () => {
  for (const m of opened) await m.dispose();
});

async function open(name: string): Promise<LanguageModel> {
  const model = await loadModel(join(fixtures, name), { backend });
  opened.push(model);
  return model;
}

function vectors(count: number, length: number, stream: number, scale: number): Float32Array[] {
  return Array.from({ length: count }, (_, k) =>
    Float32Array.from({ length }, (_, i) => (counterUniform(5, stream + k, i) * 2 - 1) * scale),
  );
}

/** Plain greedy with the logits kept, to measure the margin wherever speculative output diverges. */
async function plainWithLogits(
  model: LanguageModel,
  prompt: Int32Array,
  count: number,
): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const state = model.newState();
  let [out] = await model.prefill([{ state, tokens: prompt }]);
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  for (let k = 0; k < count; k++) {
    logits.push(out.logits);
    tokens.push(greedyToken(out.logits, 0, model.vocabSize));
    [out] = await model.step([{ state, token: tokens[k] }]);
  }
  return { tokens, logits };
}

function topTwoMargin(logits: Float32Array): number {
  const sorted = Float32Array.from(logits).sort();
  return sorted[sorted.length - 1] - sorted[sorted.length - 2];
}

const modelTypeOf = (name: string): string =>
  JSON.parse(readFileSync(join(fixtures, name, 'config.json'), 'utf8')).model_type;

describe('greedy equality on real model types (tiny random checkpoints)', () => {
  for (const name of checkpoints) {
    const present = existsSync(join(fixtures, name, 'model.safetensors'));
    if (!present || !supportedModelTypes().includes(modelTypeOf(name))) {
      it.todo(
        `${name}: ${present ? `model_type ${modelTypeOf(name)} is not implemented by @densessm/models yet` : 'fixture missing'}`,
      );
      continue;
    }
    it(`${name}: every drafter and the composite, batch 1, 3 and 8`, async () => {
      const target = await open(name);
      const draft = await open(name); // the target as its own draft: every draft accepted, long commits
      const weights = await readSafetensorsFile(join(fixtures, name, 'model.safetensors'));
      const head =
        weights.get('lm_head.weight') ??
        weights.get('model.embed_tokens.weight') ??
        weights.get('backbone.embeddings.weight');
      const lmHead = Float32Array.from(head!.data as Float32Array);
      const { vocabSize: V, hiddenSize: d } = target;
      const heads = vectors(2, d * d, 40, 0.2).map((weight, k) => ({
        weight,
        bias: vectors(1, d, 50 + k, 0.1)[0],
      }));
      const drafters: Record<string, () => Drafter> = {
        'prompt-lookup': () => new PromptLookupDrafter(),
        'token-recycling': () => new TokenRecyclingDrafter({ vocabSize: V }),
        'draft-model': () => new DraftModelDrafter({ model: draft, maxDepth: 6, stopThreshold: 1 }),
        'medusa-heads': () => new MedusaHeadsDrafter({ heads, lmHead, vocabSize: V, hiddenSize: d }),
        'pass-lookahead': () => new PassLookaheadDrafter({ embeddings: vectors(3, d, 60, 1) }),
        composite: () =>
          new CompositeDrafter([
            new PromptLookupDrafter(),
            new TokenRecyclingDrafter({ vocabSize: V }),
            new DraftModelDrafter({ model: draft, maxDepth: 6, stopThreshold: 1 }),
            new MedusaHeadsDrafter({ heads, lmHead, vocabSize: V, hiddenSize: d }),
          ]),
      };
      // Different lengths; the odd ones repeat a pattern, so copying drafters find matches.
      const prompts = Array.from({ length: 8 }, (_, i) =>
        Int32Array.from({ length: 4 + i * 5 }, (_, k) => (i % 2 ? (k % 5) * 31 + i : k * 13 + i * 7) % V),
      );
      const maxTokens = 24;
      const expected = await Promise.all(prompts.map((p) => plainWithLogits(target, p, maxTokens)));
      const report: string[] = [];
      for (const batchSize of [1, 3, 8]) {
        const batch = prompts.slice(0, batchSize);
        const plain = await collect(target, batch, { maxTokens });
        expect(plain.tokens).toEqual(expected.slice(0, batchSize).map((e) => e.tokens));
        for (const [drafterName, make] of Object.entries(drafters)) {
          const spec = await collect(target, batch, {
            maxTokens,
            drafter: make(),
            adaptive: { switchByCost: false },
          });
          spec.tokens.forEach((tokens, i) => {
            const at = tokens.findIndex((t, k) => t !== expected[i].tokens[k]);
            if (at < 0) return;
            const margin = topTwoMargin(expected[i].logits[at]);
            report.push(
              `${name} ${drafterName} batch ${batchSize} seq ${i}: diverged at token ${at}, top-2 margin ${margin.toExponential(2)}`,
            );
            expect(margin, report[report.length - 1]).toBeLessThan(nearTie);
          });
          expect(spec.metrics.targetPasses).toBeGreaterThan(0);
          if (drafterName === 'draft-model')
            expect(spec.metrics.acceptedTokens).toBeGreaterThan(spec.metrics.targetPasses);
        }
      }
      if (report.length > 0) console.log(`near-tie divergences:\n${report.join('\n')}`);
    });
  }
});
