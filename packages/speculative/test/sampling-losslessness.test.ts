import { describe, expect, it } from 'vitest';
import {
  CompositeDrafter,
  type Drafter,
  DraftModelDrafter,
  PromptLookupDrafter,
  type SamplingOptions,
  SpeculativeBatch,
  samplingDistribution,
  TokenRecyclingDrafter,
} from '../src/index.js';
import { ToyLanguageModel } from '../src/testing.js';
import { chiSquare, chiSquareCritical999, totalVariation } from './statistics.js';

const V = 8;
const hiddenSize = 8;
const prompt = [1, 2, 3, 1, 2];
const length = 3;
const samples = 6000;
const target = new ToyLanguageModel({ vocabSize: V, hiddenSize, seed: 3, sharpness: 2 });
const draftModel = () =>
  new ToyLanguageModel({ vocabSize: V, hiddenSize, seed: 3, sharpness: 2, headNoise: 0.8 });

/** The exact probability of every 3-token continuation under the shaped target, by enumeration. */
async function exactJoint(sampling: SamplingOptions): Promise<Float64Array> {
  const joint = new Float64Array(V ** length);
  const walk = async (
    state: ReturnType<typeof target.newState>,
    logits: Float32Array,
    tokens: number[],
    mass: number,
  ) => {
    const seen = new Uint8Array(V);
    for (const t of [...prompt, ...tokens]) seen[t] = 1;
    const p = samplingDistribution(logits, 0, V, sampling, { seen, path: [] });
    for (let t = 0; t < V; t++) {
      if (p[t] === 0) continue;
      const next = [...tokens, t];
      if (next.length === length) {
        joint[next.reduce((a, b) => a * V + b, 0)] += mass * p[t];
        continue;
      }
      const child = state.clone();
      const [out] = await target.step([{ state: child, token: t }]);
      await walk(child, out.logits, next, mass * p[t]);
    }
  };
  const state = target.newState();
  const [out] = await target.prefill([{ state, tokens: Int32Array.from(prompt) }]);
  await walk(state, out.logits, [], 1);
  return joint;
}

async function sampleMany(sampling: SamplingOptions, drafter: Drafter | undefined): Promise<number[][]> {
  const batch = new SpeculativeBatch(target, {
    drafter,
    maxDraftNodes: 6,
    adaptive: { measureCost: false, nodeCost: 0.01 },
  });
  for (let i = 0; i < samples; i++) batch.add({ ...sampling, seed: i, prompt, maxTokens: length });
  const results: number[][] = [];
  while (batch.size > 0) {
    for (const event of await batch.runRound())
      if (event.result) results[event.result.sequenceId] = event.result.tokens;
  }
  // The drafts must have been used, or the test would only exercise plain sampling.
  if (drafter) expect(batch.metrics.acceptedTokens).toBeGreaterThan(samples / 50);
  return results;
}

function histogram(sequences: readonly number[][]): Float64Array {
  const counts = new Float64Array(V ** length);
  for (const s of sequences) counts[s.reduce((a, b) => a * V + b, 0)]++;
  return counts;
}

const settings: Record<string, SamplingOptions> = {
  'temperature 1': { temperature: 1 },
  'temperature 0.7, top-k 5, top-p 0.9, repetition penalty 1.3': {
    temperature: 0.7,
    topK: 5,
    topP: 0.9,
    repetitionPenalty: 1.3,
  },
};

describe('speculative sampling through the batched loop matches the target distribution', () => {
  for (const [label, sampling] of Object.entries(settings)) {
    it(`draft model (sampled Gumbel-Top-k trees), ${label}: chi-square over all 3-token continuations`, async () => {
      const exact = await exactJoint(sampling);
      const drafted = histogram(
        await sampleMany(sampling, new DraftModelDrafter({ model: draftModel(), branching: 2, maxDepth: 3 })),
      );
      const { statistic, df } = chiSquare(drafted, exact, samples);
      expect(statistic).toBeLessThan(chiSquareCritical999(df));
      expect(totalVariation(drafted, exact, samples)).toBeLessThan(Math.sqrt(V ** length / samples) * 0.5);
      // Power: the draft model's own (plain) samples are far from the target.
      const draftOnly = new SpeculativeBatch(draftModel(), { adaptive: false });
      for (let i = 0; i < samples; i++) draftOnly.add({ ...sampling, seed: i, prompt, maxTokens: length });
      const draftSequences: number[][] = [];
      while (draftOnly.size > 0)
        for (const e of await draftOnly.runRound()) if (e.result) draftSequences.push(e.result.tokens);
      expect(chiSquare(histogram(draftSequences), exact, samples).statistic).toBeGreaterThan(
        2 * chiSquareCritical999(df),
      );
    });

    it(`deterministic drafters (sample-and-compare), ${label}: identical to plain seeded sampling`, async () => {
      const plain = await sampleMany(sampling, undefined);
      const { statistic, df } = chiSquare(histogram(plain), await exactJoint(sampling), samples);
      expect(statistic).toBeLessThan(chiSquareCritical999(df));
      expect(await sampleMany(sampling, new PromptLookupDrafter({ minMatch: 1 }))).toEqual(plain);
      expect(await sampleMany(sampling, new TokenRecyclingDrafter({ vocabSize: V }))).toEqual(plain);
    });

    it(`composite of sampled and deterministic drafts, ${label}`, async () => {
      const composite = new CompositeDrafter([
        new DraftModelDrafter({ model: draftModel(), branching: 2, maxDepth: 3 }),
        new PromptLookupDrafter({ minMatch: 1 }),
        new TokenRecyclingDrafter({ vocabSize: V }),
      ]);
      const counts = histogram(await sampleMany(sampling, composite));
      const { statistic, df } = chiSquare(counts, await exactJoint(sampling), samples);
      expect(statistic).toBeLessThan(chiSquareCritical999(df));
    });
  }

  it('seeded runs are reproducible and seeds matter', async () => {
    const sampling = { temperature: 1 };
    const run = () =>
      sampleMany(sampling, new DraftModelDrafter({ model: draftModel(), branching: 2, maxDepth: 3 }));
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    expect(new Set(a.map((s) => s.join(','))).size).toBeGreaterThan(50);
  });
});
