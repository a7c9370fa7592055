import type { Backend } from '@densessm/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  argmax,
  createRng,
  folderReader,
  generateGreedy,
  type LanguageModel,
  modelFromCheckpoint,
  PackedState,
  type RawConfig,
  type ReferenceModel,
  type ReferenceState,
  type RuntimeOptions,
  readCheckpoint,
  referenceFromCheckpoint,
  type SequenceState,
  type TokenTree,
  type VerifyOutput,
} from '../../src/index.js';
import { randomWeights, writeCheckpoint } from '../../src/testing.js';
import { BACKENDS } from './backends.js';

export const LOGIT_TOLERANCE = 1e-4;

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A model that keeps pending rows outside its state tensors (dense_retnet) and can fold them in on demand. */
interface Flushable {
  flush(states: readonly unknown[]): Promise<void>;
}

function flushable(model: LanguageModel): model is LanguageModel & Flushable {
  return typeof (model as Partial<Flushable>).flush === 'function';
}

/**
 * Asserts every named state tensor of the graph model's state equals the reference's within `tol`. A state with
 * pending rows is compared through a folded clone (the state itself keeps its rows, so later passes still read
 * them); a state without any must match as it is.
 */
export async function expectSameState(
  model: LanguageModel,
  actual: unknown,
  expected: ReferenceState,
  tol = LOGIT_TOLERANCE,
): Promise<void> {
  expect(actual).toBeInstanceOf(PackedState);
  let state = actual as PackedState;
  expect(state.position).toBe(expected.position);
  if (state.pendingCount > 0) {
    expect(flushable(model), 'a model with pending rows can flush them').toBe(true);
    const before = state.pendingCount;
    state = state.clone();
    await (model as LanguageModel & Flushable).flush([state]);
    expect((actual as PackedState).pendingCount).toBe(before);
  }
  expect(state.pendingCount).toBe(0);
  expect(state.position).toBe(expected.position);
  for (const [name, values] of Object.entries(expected.tensors)) {
    expect(maxAbsDiff(state.tensors[name], values), `state tensor '${name}'`).toBeLessThanOrEqual(tol);
  }
}

/** Feeds tokens to a reference state; returns the logits after the last one. */
export function feedAll(
  reference: ReferenceModel,
  state: ReferenceState,
  tokens: ArrayLike<number>,
): Float32Array {
  let logits: Float32Array = new Float32Array(0);
  for (let i = 0; i < tokens.length; i++) logits = reference.feed(state, tokens[i]).logits;
  return logits;
}

/** Reference logits of every tree node: the state after its root-to-node path, built parent by parent. */
export function referenceTreeLogits(
  reference: ReferenceModel,
  base: ReferenceState,
  tree: TokenTree,
): Float32Array[] {
  const after: ReferenceState[] = [];
  return Array.from(tree.tokens, (token, i) => {
    const p = tree.parents[i];
    const state = (p < 0 ? base : after[p]).clone();
    after.push(state);
    return reference.feed(state, token).logits;
  });
}

/** Verifies one tree per state in one ragged pass and checks every node's logits against the reference. */
export async function expectVerifyMatches(
  model: LanguageModel,
  reference: ReferenceModel,
  states: readonly SequenceState[],
  refs: readonly ReferenceState[],
  trees: readonly TokenTree[],
): Promise<VerifyOutput[]> {
  const verified = await model.verify(trees.map((tree, b) => ({ state: states[b], tree })));
  trees.forEach((tree, b) => {
    referenceTreeLogits(reference, refs[b], tree).forEach((expected, i) => {
      const row = verified[b].logits.subarray(i * model.vocabSize, (i + 1) * model.vocabSize);
      expect(maxAbsDiff(row, expected), `sequence ${b} node ${i}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    });
  });
  return verified;
}

/** Commits each sequence's path of a verified batch and checks its state against the reference fed the same tokens. */
export async function expectCommitMatches(
  model: LanguageModel,
  reference: ReferenceModel,
  states: readonly SequenceState[],
  refs: readonly ReferenceState[],
  trees: readonly TokenTree[],
  verified: readonly VerifyOutput[],
  paths: readonly (readonly number[])[],
): Promise<void> {
  await model.commit(trees.map((_, b) => ({ state: states[b], verified: verified[b], path: paths[b] })));
  for (const [b, path] of paths.entries()) {
    feedAll(
      reference,
      refs[b],
      path.map((node) => trees[b].tokens[node]),
    );
    await expectSameState(model, states[b], refs[b]);
  }
}

/** Steps every sequence by its token in one batched pass and checks logits and states against the reference. */
export async function expectStepMatches(
  model: LanguageModel,
  reference: ReferenceModel,
  states: readonly SequenceState[],
  refs: readonly ReferenceState[],
  tokens: ArrayLike<number>,
): Promise<void> {
  const stepped = await model.step(Array.from(tokens, (token, b) => ({ state: states[b], token })));
  for (let b = 0; b < tokens.length; b++) {
    expect(maxAbsDiff(stepped[b].logits, reference.feed(refs[b], tokens[b]).logits)).toBeLessThanOrEqual(
      LOGIT_TOLERANCE,
    );
    await expectSameState(model, states[b], refs[b]);
  }
}

export function randomTokens(rng: () => number, count: number, vocab: number): Int32Array {
  return Int32Array.from({ length: count }, () => Math.floor(rng() * vocab));
}

export function chainTree(tokens: Int32Array): TokenTree {
  return { tokens, parents: Int32Array.from({ length: tokens.length }, (_, i) => i - 1) };
}

/** A random tree in topological order: each node hangs under a random earlier node (or the root) within maxDepth. */
export function randomTree(rng: () => number, nodes: number, maxDepth: number, vocab: number): TokenTree {
  const parents = new Int32Array(nodes);
  const depth = new Int32Array(nodes);
  for (let i = 0; i < nodes; i++) {
    let p = Math.floor(rng() * (i + 1)) - 1;
    while (p >= 0 && depth[p] + 1 >= maxDepth) p = parents[p];
    parents[i] = p;
    depth[i] = p < 0 ? 0 : depth[p] + 1;
  }
  return { tokens: randomTokens(rng, nodes, vocab), parents };
}

/** The deepest root-to-node path of a tree (node indices, root first). */
export function deepestPath(tree: TokenTree): number[] {
  const depth: number[] = [];
  let best = 0;
  tree.parents.forEach((p, i) => {
    depth.push(p < 0 ? 0 : depth[p] + 1);
    if (depth[i] > depth[best]) best = i;
  });
  const path: number[] = [];
  for (let i = best; i >= 0; i = tree.parents[i]) path.unshift(i);
  return path;
}

export interface ConformanceOptions {
  /** Describe label, e.g. 'dense_retnet m=2'. */
  label: string;
  config: RawConfig;
  seed: number;
  /** Prompt lengths for prefill (cross the chunk size). */
  prefillLengths: readonly number[];
  /** Tokens generated in the greedy comparison. */
  greedyTokens: number;
  runtime?: Omit<RuntimeOptions, 'backend'>;
  /** Architecture-specific weight init (see `randomWeights`), e.g. Mamba's A_log and dt bias. */
  init?: Parameters<typeof randomWeights>[2];
  backends?: readonly { name: string; make: () => Backend }[];
}

/**
 * The graph-vs-reference suite every architecture runs (DESIGN.md section 4): prefill across chunk boundaries,
 * verify of chains, branching trees and a ragged batch, commit of accepted paths (state and continuation),
 * batched step, greedy generation. Logits within 1e-4 of the pure-TS reference.
 */
export function conformanceSuite(options: ConformanceOptions): void {
  for (const backend of options.backends ?? BACKENDS) {
    describe(`${options.label} on ${backend.name}`, () => {
      let model: LanguageModel;
      let reference: ReferenceModel;
      beforeAll(async () => {
        const dir = await writeCheckpoint(
          options.config,
          randomWeights(options.config, options.seed, options.init),
        );
        const checkpoint = await readCheckpoint(folderReader(dir), dir);
        model = await modelFromCheckpoint(checkpoint, { backend: backend.make(), ...options.runtime });
        reference = referenceFromCheckpoint(checkpoint);
      });
      afterAll(async () => model?.dispose());

      it('prefill matches the reference across chunk boundaries (logits and state)', async () => {
        const rng = createRng(options.seed + 1);
        for (const length of options.prefillLengths) {
          const tokens = randomTokens(rng, length, model.vocabSize);
          const state = model.newState();
          const [out] = await model.prefill([{ state, tokens }], { hidden: true });
          const refState = reference.newState();
          const expected = feedAll(reference, refState, tokens);
          expect(maxAbsDiff(out.logits, expected), `prefill length ${length}`).toBeLessThanOrEqual(
            LOGIT_TOLERANCE,
          );
          expect(out.hidden?.length).toBe(model.hiddenSize);
          await expectSameState(model, state, refState);
        }
      });

      it('verify of chains and branching trees matches the reference per node, leaving the state untouched', async () => {
        const rng = createRng(options.seed + 2);
        const prompt = randomTokens(rng, 37, model.vocabSize);
        const state = model.newState();
        await model.prefill([{ state, tokens: prompt }]);
        const base = reference.newState();
        feedAll(reference, base, prompt);
        const trees = [
          chainTree(randomTokens(rng, 1, model.vocabSize)),
          chainTree(randomTokens(rng, 8, model.vocabSize)),
          randomTree(rng, 16, 4, model.vocabSize),
          randomTree(rng, 64, 8, model.vocabSize),
        ];
        for (const tree of trees) {
          const [out] = await model.verify([{ state, tree }], { hidden: true });
          expect(out.nodeCount).toBe(tree.tokens.length);
          expect(out.hidden?.length).toBe(tree.tokens.length * model.hiddenSize);
          referenceTreeLogits(reference, base, tree).forEach((expected, i) => {
            const row = out.logits.subarray(i * model.vocabSize, (i + 1) * model.vocabSize);
            expect(maxAbsDiff(row, expected), `node ${i} of ${tree.tokens.length}`).toBeLessThanOrEqual(
              LOGIT_TOLERANCE,
            );
          });
        }
        await expectSameState(model, state, base);
      });

      it('a ragged batch of 4: verify, commit of different paths, then batched step, all match the reference', async () => {
        const rng = createRng(options.seed + 3);
        const lengths = [3, 70, 17, 1];
        const trees = [
          randomTree(rng, 24, 8, model.vocabSize),
          chainTree(randomTokens(rng, 5, model.vocabSize)),
          randomTree(rng, 40, 6, model.vocabSize),
          randomTree(rng, 1, 1, model.vocabSize),
        ];
        const states = lengths.map(() => model.newState());
        const refs = lengths.map(() => reference.newState());
        const prompts = lengths.map((n) => randomTokens(rng, n, model.vocabSize));
        const prefilled = await model.prefill(prompts.map((tokens, b) => ({ state: states[b], tokens })));
        prompts.forEach((p, b) => {
          expect(maxAbsDiff(prefilled[b].logits, feedAll(reference, refs[b], p))).toBeLessThanOrEqual(
            LOGIT_TOLERANCE,
          );
        });
        const verified = await expectVerifyMatches(model, reference, states, refs, trees);
        // Accept: the deepest path, a 2-node prefix of the chain, nothing, the single root.
        const paths = [deepestPath(trees[0]), [0, 1], [], [0]];
        await expectCommitMatches(model, reference, states, refs, trees, verified, paths);
        await expectStepMatches(model, reference, states, refs, randomTokens(rng, 4, model.vocabSize));
        // States that came out of one batched pass continue alone (they may share the pass's output buffers).
        const [alone] = await model.step([{ state: states[2], token: 5 }]);
        expect(maxAbsDiff(alone.logits, reference.feed(refs[2], 5).logits)).toBeLessThanOrEqual(
          LOGIT_TOLERANCE,
        );
        await expectSameState(model, states[2], refs[2]);
        await expectSameState(model, states[1], refs[1]);
      });

      it(`greedy generation of ${options.greedyTokens} tokens equals the reference's`, async () => {
        const prompt = randomTokens(createRng(options.seed + 4), 11, model.vocabSize);
        const generated = await generateGreedy(model, prompt, options.greedyTokens);
        const refState = reference.newState();
        let logits = feedAll(reference, refState, prompt);
        const expected: number[] = [];
        for (let i = 0; i < options.greedyTokens; i++) {
          expected.push(argmax(logits));
          logits = reference.feed(refState, expected[i]).logits;
        }
        expect(Array.from(generated)).toEqual(expected);
      });
    });
  }
}
