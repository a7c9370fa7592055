/**
 * Shared helpers for the model benchmarks (not tests): robust timing, token-tree shapes, result files.
 * Used by bench/models/*.bench-run.ts (dense_retnet and mamba).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { createRng, type LanguageModel, type TokenTree } from '../../packages/models/src/index.js';

/** A benchmark knob from the environment (BENCH_*), or its default. */
export function benchEnv(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Number(sorted[Math.floor(sorted.length / 2)].toFixed(3));
}

/** Marks the timed region of a case (cases that take it); cases without the parameter are timed whole. */
export type Timer = <T>(region: () => Promise<T>) => Promise<T>;

/** Median wall-clock ms and CPU ms (user + system, all threads of this process) per case. */
export interface Timings {
  readonly wall: Record<string, number>;
  readonly cpu: Record<string, number>;
}

/**
 * Times every case once per round, round after round (after one warm-up round that builds the sessions), so
 * that load from other processes on the machine hits all cases alike and their ratios stay meaningful. CPU time
 * is recorded too: with one intra-op thread it is the work itself, unaffected by waiting for a core.
 */
export async function roundRobin(
  cases: Record<string, (time: Timer) => Promise<void>>,
  rounds: number,
): Promise<Timings> {
  const wall: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const record = (ms: number, cpuMs: number) => {
        if (round > 0) {
          wall[name].push(ms);
          cpu[name].push(cpuMs);
        }
      };
      const time: Timer = async (region) => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const result = await region();
        const c = process.cpuUsage(c0);
        record(performance.now() - t0, (c.user + c.system) / 1000);
        return result;
      };
      // A case declaring the `time` parameter times its own region; others are timed whole.
      await (run.length > 0 ? run(time) : time(() => run(time)));
    }
  }
  const medians = (xs: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, median(v)]));
  return { wall: medians(wall), cpu: medians(cpu) };
}

export function randomTokens(n: number, vocab: number, rand: () => number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rand() * vocab));
}

/** Tree shapes drafters produce, each of n nodes: binary (depth ~log2 n), 4 parallel chains, one chain. */
export const TREE_SHAPES: Readonly<Record<string, (n: number) => Int32Array>> = {
  tree: (n) => Int32Array.from({ length: n }, (_, i) => (i === 0 ? -1 : (i - 1) >> 1)),
  beam4: (n) => Int32Array.from({ length: n }, (_, i) => (i < 4 ? -1 : i - 4)),
  chain: (n) => Int32Array.from({ length: n }, (_, i) => i - 1),
};

export function treeOf(shape: string, n: number, vocab: number, rand: () => number): TokenTree {
  return { tokens: randomTokens(n, vocab, rand), parents: TREE_SHAPES[shape](n) };
}

/** Writes `bench/results/<name>-<tag>.json` with the machine's description and the peak RSS around `body`. */
export function writeResult(name: string, tag: string, body: Record<string, unknown>): string {
  const out = {
    benchmark: name,
    cpu: cpus()[0]?.model,
    cores: availableParallelism(),
    node: process.version,
    date: new Date().toISOString(),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...body,
  };
  const dir = join(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${tag}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return file;
}

/**
 * The standard cases of a LanguageModel benchmark, timed round-robin: one decode step (batch 1, 4 and 16), verify
 * of 8/16/32/64-node trees of every TREE_SHAPES shape and of a batch of 4 x 16, prefill of 512 tokens, commit of
 * 1/4/8 accepted tokens (from a 100-token context). Those start from a fresh copy of the state, so work a model
 * defers (dense_retnet folds its pending rows every W tokens) is not in them; two sustained cases are:
 * decode66 / decode66_batch4 (66 consecutive steps, all timed) and rounds20 (20 speculation rounds of verify
 * tree16 + commit of 4 nodes, all timed).
 */
export async function measureLanguageModel(
  model: LanguageModel,
  vocab: number,
  rounds: number,
): Promise<Timings> {
  return roundRobin(await languageModelCases(model, vocab), rounds);
}

/** The cases of `measureLanguageModel`, untimed (e.g. to interleave the cases of two models in one run). */
export async function languageModelCases(
  model: LanguageModel,
  vocab: number,
): Promise<Record<string, (time: Timer) => Promise<void>>> {
  const rand = createRng(3);
  const state = model.newState();
  await model.prefill([{ state, tokens: randomTokens(100, vocab, rand) }]);
  const batch = Array.from({ length: 4 }, () => state.clone());
  // Steps advance their state: each run steps a fresh clone, cloned outside the timed region.
  const cases: Record<string, (time: Timer) => Promise<void>> = {
    step: async (time) => {
      const s = state.clone();
      await time(() => model.step([{ state: s, token: 17 }]));
    },
    step_batch4: async (time) => {
      const items = batch.map((s) => ({ state: s.clone(), token: 17 }));
      await time(() => model.step(items));
    },
    step_batch16: async (time) => {
      const items = Array.from({ length: 16 }, () => ({ state: state.clone(), token: 17 }));
      await time(() => model.step(items));
    },
  };
  for (const n of [8, 16, 32, 64]) {
    for (const shape of Object.keys(TREE_SHAPES)) {
      const tree = treeOf(shape, n, vocab, rand);
      cases[`verify_${shape}${n}`] = async () => void (await model.verify([{ state, tree }]));
    }
  }
  const tree16 = treeOf('tree', 16, vocab, rand);
  cases.verify_batch4x16 = async () =>
    void (await model.verify(batch.map((s) => ({ state: s, tree: tree16 }))));
  const prompt = randomTokens(512, vocab, rand);
  cases.prefill512 = async () => void (await model.prefill([{ state: model.newState(), tokens: prompt }]));
  const chain8 = treeOf('chain', 8, vocab, rand);
  for (const k of [1, 4, 8]) {
    const path = Array.from({ length: k }, (_, i) => i);
    // A verify output belongs to one state as it is: verify a fresh clone (untimed), then time its commit.
    cases[`commit${k}`] = async (time) => {
      const s = state.clone();
      const [verified] = await model.verify([{ state: s, tree: chain8 }]);
      await time(() => model.commit([{ state: s, verified, path }]));
    };
  }
  cases.decode66 = async (time) => {
    const s = state.clone();
    await time(async () => {
      for (let i = 0; i < 66; i++) await model.step([{ state: s, token: 17 + i }]);
    });
  };
  cases.decode66_batch4 = async (time) => {
    const states = batch.map((s) => s.clone());
    await time(async () => {
      for (let i = 0; i < 66; i++) await model.step(states.map((s) => ({ state: s, token: 17 + i })));
    });
  };
  const path4 = [0, 1, 3, 7]; // a root-to-leaf path of the binary tree shape
  cases.rounds20 = async (time) => {
    const s = state.clone();
    await time(async () => {
      for (let r = 0; r < 20; r++) {
        const [verified] = await model.verify([{ state: s, tree: tree16 }]);
        await model.commit([{ state: s, verified, path: path4 }]);
      }
    });
  };
  return cases;
}

/** Ratios that decide whether speculation pays (DESIGN.md section 7; goal: verify of 16 nodes < 2 steps). */
export function speculationRatios(t: Record<string, number>): Record<string, number> {
  const r = (x: number) => Number(x.toFixed(3));
  return {
    verify_tree16_over_step: r(t.verify_tree16 / t.step),
    verify_tree16_plus_commit4_over_step: r((t.verify_tree16 + t.commit4) / t.step),
    verify_chain16_over_step: r(t.verify_chain16 / t.step),
    verify_tree64_over_step: r(t.verify_tree64 / t.step),
    prefill512_per_token_over_step: r(t.prefill512 / 512 / t.step),
    step_batch4_over_step: r(t.step_batch4 / t.step),
    step_batch16_over_step: r(t.step_batch16 / t.step),
    // Sustained: per token of 66 decode steps (batch 1 and per step of batch 4), per speculation round.
    decode66_per_step_over_step: r(t.decode66 / 66 / t.step),
    decode66_batch4_per_step_over_step: r(t.decode66_batch4 / 66 / t.step),
    round_tree16_commit4_over_step: r(t.rounds20 / 20 / t.step),
  };
}
