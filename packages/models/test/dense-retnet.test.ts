import { createNodeBackend } from '@densessm/backend-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DenseRetNetModel } from '../src/dense-retnet/model.js';
import {
  createRng,
  folderReader,
  generateSampled,
  type LanguageModel,
  ModelError,
  modelFromCheckpoint,
  type PackedState,
  type ReferenceModel,
  readCheckpoint,
  referenceFromCheckpoint,
  sampleToken,
} from '../src/index.js';
import { randomCheckpoint } from '../src/testing.js';
import { BACKENDS } from './helpers/backends.js';
import { tinyRetNetConfig } from './helpers/configs.js';
import {
  chainTree,
  conformanceSuite,
  deepestPath,
  expectCommitMatches,
  expectSameState,
  expectStepMatches,
  expectVerifyMatches,
  feedAll,
  LOGIT_TOLERANCE,
  maxAbsDiff,
  randomTokens,
  randomTree,
} from './helpers/conformance.js';

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

// Small pending windows: folds happen mid-generation, mid-commit and between the passes of every test above
// (W = 5: 200 greedy tokens fold 40 times); W = 0 writes the state on every step and commit (the eager form).
conformanceSuite({
  label: 'dense_retnet m=2 pendingWindow=5',
  config: tinyRetNetConfig(2),
  seed: 12,
  prefillLengths: [1, 65],
  greedyTokens: 200,
  runtime: { prefillChunk: 64, pendingWindow: 5 },
});
conformanceSuite({
  label: 'dense_retnet m=2 pendingWindow=0',
  config: tinyRetNetConfig(2, 3),
  seed: 13,
  prefillLengths: [1, 65],
  greedyTokens: 40,
  runtime: { prefillChunk: 64, pendingWindow: 0 },
});

for (const backend of BACKENDS) {
  describe(`dense_retnet pending window (W = 4) on ${backend.name}`, () => {
    const W = 4;
    let model: DenseRetNetModel;
    let reference: ReferenceModel;
    beforeAll(async () => {
      const dir = await randomCheckpoint(tinyRetNetConfig(2, 3), 40);
      const checkpoint = await readCheckpoint(folderReader(dir), dir);
      model = (await modelFromCheckpoint(checkpoint, {
        backend: backend.make(),
        pendingWindow: W,
      })) as DenseRetNetModel;
      reference = referenceFromCheckpoint(checkpoint);
    });
    afterAll(async () => model?.dispose());

    const pending = (s: unknown) => (s as PackedState).pendingCount;
    const base = (s: unknown) => (s as PackedState).basePosition;

    it('steps append rows and fold when the window would overflow; logits and states match the reference', async () => {
      const rng = createRng(41);
      const state = model.newState();
      const ref = reference.newState();
      const prompt = randomTokens(rng, 6, model.vocabSize);
      await model.prefill([{ state, tokens: prompt }]);
      feedAll(reference, ref, prompt);
      expect([pending(state), base(state)]).toEqual([0, 6]);
      const seen: [number, number][] = [];
      for (const token of randomTokens(rng, 11, model.vocabSize)) {
        const [out] = await model.step([{ state, token }]);
        expect(maxAbsDiff(out.logits, reference.feed(ref, token).logits)).toBeLessThanOrEqual(
          LOGIT_TOLERANCE,
        );
        seen.push([pending(state), base(state)]);
      }
      // Rows 1..4 pending, then the 5th step folds the four first and keeps its own row.
      expect(seen).toEqual([
        [1, 6],
        [2, 6],
        [3, 6],
        [4, 6],
        [1, 10],
        [2, 10],
        [3, 10],
        [4, 10],
        [1, 14],
        [2, 14],
        [3, 14],
      ]);
      await expectSameState(model, state, ref);
      // Prefill folds what is pending first, then continues from there.
      const more = randomTokens(rng, 3, model.vocabSize);
      const [after] = await model.prefill([{ state, tokens: more }]);
      expect(maxAbsDiff(after.logits, feedAll(reference, ref, more))).toBeLessThanOrEqual(LOGIT_TOLERANCE);
      expect([pending(state), base(state)]).toEqual([0, 20]);
      await expectSameState(model, state, ref);
    });

    it('a batch whose sequences hold different pending counts (0..W) verifies, commits and steps like the reference', async () => {
      const rng = createRng(42);
      const counts = [0, 1, 3, W, 2];
      const states = counts.map(() => model.newState());
      const refs = counts.map(() => reference.newState());
      for (const [b, count] of counts.entries()) {
        const prompt = randomTokens(rng, 5 + b, model.vocabSize);
        await model.prefill([{ state: states[b], tokens: prompt }]);
        feedAll(reference, refs[b], prompt);
        for (const token of randomTokens(rng, count, model.vocabSize)) {
          await model.step([{ state: states[b], token }]);
          reference.feed(refs[b], token);
        }
      }
      expect(states.map(pending)).toEqual(counts);
      const trees = [
        randomTree(rng, 12, 4, model.vocabSize),
        chainTree(randomTokens(rng, 3, model.vocabSize)),
        randomTree(rng, 1, 1, model.vocabSize),
        randomTree(rng, 9, 5, model.vocabSize),
        chainTree(randomTokens(rng, 6, model.vocabSize)),
      ];
      const verified = await expectVerifyMatches(model, reference, states, refs, trees);
      expect(states.map(pending)).toEqual(counts);
      // Fits (0 + 3), fits exactly (1 + 3), nothing, overflows (4 + 3: fold, keep 3), longer than W (2 + 6: fold
      // the 2, then the 6 rows at once).
      const paths = [
        deepestPath(trees[0]).slice(0, 3),
        [0, 1, 2],
        [],
        deepestPath(trees[3]).slice(0, 3),
        [0, 1, 2, 3, 4, 5],
      ];
      expect(paths.map((p) => p.length)).toEqual([3, 3, 0, 3, 6]);
      await expectCommitMatches(model, reference, states, refs, trees, verified, paths);
      expect(states.map(pending)).toEqual([3, 4, 3, 3, 0]);
      await expectStepMatches(
        model,
        reference,
        states,
        refs,
        randomTokens(rng, counts.length, model.vocabSize),
      );
      expect(states.map(pending)).toEqual([4, 1, 4, 4, 1]);
      // Flushing in place folds everything and changes no result.
      await model.flush(states);
      expect(states.map(pending)).toEqual([0, 0, 0, 0, 0]);
      for (const [b, state] of states.entries()) await expectSameState(model, state, refs[b]);
      const again = await model.step(states.map((state) => ({ state, token: 3 })));
      for (const [b, out] of again.entries())
        expect(maxAbsDiff(out.logits, reference.feed(refs[b], 3).logits)).toBeLessThanOrEqual(
          LOGIT_TOLERANCE,
        );
    });

    it('batches reordered, regrouped or run concurrently read the right states (kept batch buffers)', async () => {
      const rng = createRng(46);
      const states = Array.from({ length: 4 }, () => model.newState());
      await model.prefill(
        states.map((state, b) => ({ state, tokens: randomTokens(rng, 3 + b, model.vocabSize) })),
      );
      const tree = randomTree(rng, 5, 3, model.vocabSize);
      const alone = await Promise.all(
        states.map(async (state) => (await model.verify([{ state, tree }]))[0]),
      );
      const check = (outs: readonly { logits: Float32Array }[], order: readonly number[]) => {
        for (const [i, b] of order.entries())
          expect(maxAbsDiff(outs[i].logits, alone[b].logits), `slot ${i} = state ${b}`).toBeLessThanOrEqual(
            1e-5,
          );
      };
      const run = (order: readonly number[]) => model.verify(order.map((b) => ({ state: states[b], tree })));
      for (const order of [
        [0, 1, 2, 3],
        [3, 2, 1, 0],
        [0, 1, 2, 3],
        [1, 0, 3, 2],
      ])
        check(await run(order), order);
      const [a, b] = await Promise.all([run([0, 1, 2, 3]), run([2, 3, 0, 1])]);
      check(a, [0, 1, 2, 3]);
      check(b, [2, 3, 0, 1]);
    });

    it('clones copy the pending rows (independent of the original); byteSize counts them', async () => {
      const rng = createRng(43);
      const state = model.newState();
      const ref = reference.newState();
      const prompt = randomTokens(rng, 4, model.vocabSize);
      await model.prefill([{ state, tokens: prompt }]);
      feedAll(reference, ref, prompt);
      const baseBytes = state.byteSize;
      for (const token of randomTokens(rng, 3, model.vocabSize)) {
        await model.step([{ state, token }]);
        reference.feed(ref, token);
      }
      expect(state.byteSize).toBeGreaterThan(baseBytes);
      const copy = state.clone() as PackedState;
      const copyRef = ref.clone();
      expect([copy.position, copy.pendingCount, copy.byteSize]).toEqual([state.position, 3, state.byteSize]);
      // The original moves on (and folds); the copy still reads its own three rows.
      for (const token of randomTokens(rng, 3, model.vocabSize)) {
        await model.step([{ state, token }]);
        reference.feed(ref, token);
      }
      expect(pending(state)).toBe(2);
      const [fromCopy] = await model.step([{ state: copy, token: 9 }]);
      expect(maxAbsDiff(fromCopy.logits, reference.feed(copyRef, 9).logits)).toBeLessThanOrEqual(
        LOGIT_TOLERANCE,
      );
      await expectSameState(model, copy, copyRef);
      await expectSameState(model, state, ref);
    });

    it('flush refuses foreign states; a verify output is refused after its state folded or moved on', async () => {
      const other = await modelFromCheckpoint(
        await readCheckpoint(folderReader(await randomCheckpoint(tinyRetNetConfig(0, 1), 44)), 'other'),
        { backend: backend.make() },
      );
      const foreign = other.newState();
      const error = await model.flush([foreign]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      expect((error as ModelError).code).toBe('FOREIGN_STATE');
      await other.dispose();
      const state = model.newState();
      await model.prefill([{ state, tokens: Int32Array.of(1, 2) }]);
      await model.step([{ state, token: 3 }]);
      const tree = chainTree(Int32Array.of(4, 5));
      const [verified] = await model.verify([{ state, tree }]);
      await model.flush([state]);
      const stale = await model.commit([{ state, verified, path: [0] }]).catch((e: unknown) => e);
      expect((stale as ModelError).code).toBe('INVALID_INPUT');
      const [fresh] = await model.verify([{ state, tree }]);
      await model.commit([{ state, verified: fresh, path: [0, 1] }]);
      const twice = await model.commit([{ state, verified: fresh, path: [0] }]).catch((e: unknown) => e);
      expect((twice as ModelError).code).toBe('INVALID_INPUT');
      expect([state.position, pending(state)]).toEqual([5, 2]);
    });
  });
}

describe('pendingWindow option', () => {
  it('must be a non-negative integer', async () => {
    const dir = await randomCheckpoint(tinyRetNetConfig(0, 1), 45);
    const checkpoint = await readCheckpoint(folderReader(dir), dir);
    const backend = createNodeBackend({ threads: 1 });
    for (const pendingWindow of [-1, 1.5]) {
      const error = await modelFromCheckpoint(checkpoint, { backend, pendingWindow }).catch(
        (e: unknown) => e,
      );
      expect((error as ModelError).message).toContain('pendingWindow');
    }
    const model: LanguageModel = await modelFromCheckpoint(checkpoint, { backend });
    expect((model as DenseRetNetModel).pendingWindow).toBe(32);
    await model.dispose();
  });
});

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
