import { createNodeBackend } from '@densessm/backend-node';
import { describe, expect, it } from 'vitest';
import {
  createRng,
  folderReader,
  generateSampled,
  modelFromCheckpoint,
  readCheckpoint,
  referenceFromCheckpoint,
  sampleToken,
} from '../src/index.js';
import { randomCheckpoint } from '../src/testing.js';
import { tinyRetNetConfig } from './helpers/configs.js';
import { conformanceSuite, feedAll } from './helpers/conformance.js';

conformanceSuite({
  label: 'dense_retnet m=2',
  config: tinyRetNetConfig(2),
  seed: 11,
  prefillLengths: [1, 5, 63, 64, 65, 130, 300],
  greedyTokens: 200,
  runtime: { prefillChunk: 64 },
});

// m = 0 (plain GAU-RetNet), m = 1 and m = 4 (layer 5 fuses layers 1..4): shorter runs of the same suite.
for (const [m, layers] of [
  [0, 3],
  [1, 3],
  [4, 6],
] as const) {
  conformanceSuite({
    label: `dense_retnet m=${m}`,
    config: tinyRetNetConfig(m, layers),
    seed: 20 + m,
    prefillLengths: [1, 64, 129],
    greedyTokens: 40,
    runtime: { prefillChunk: 64 },
  });
}

describe('generateSampled', () => {
  it('repeats per seed and equals sampling from the reference with the same PRNG', async () => {
    const dir = await randomCheckpoint(tinyRetNetConfig(2, 2), 30);
    const checkpoint = await readCheckpoint(folderReader(dir), dir);
    const model = await modelFromCheckpoint(checkpoint, { backend: createNodeBackend({ threads: 1 }) });
    const reference = referenceFromCheckpoint(checkpoint);
    const prompt = Int32Array.of(5, 6, 7);
    const options = { temperature: 0.8, topK: 20, topP: 0.95, seed: 3 };
    const a = await generateSampled(model, prompt, 60, options);
    expect(await generateSampled(model, prompt, 60, options)).toEqual(a);
    expect(await generateSampled(model, prompt, 60, { ...options, seed: 4 })).not.toEqual(a);
    const rng = createRng(3);
    const state = reference.newState();
    let logits = feedAll(reference, state, prompt);
    const expected: number[] = [];
    for (let i = 0; i < 60; i++) {
      expected.push(sampleToken(logits, options, rng));
      logits = reference.feed(state, expected[i]).logits;
    }
    expect(Array.from(a)).toEqual(expected);
    await model.dispose();
  });
});
