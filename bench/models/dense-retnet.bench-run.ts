/**
 * Benchmark (not a test): a random dense_retnet of hidden 512, 12 layers, qk 256, v_factor 2, 2 heads,
 * vocab 8192, m = 2 (~31M params; DESIGN.md section 7) on backend-node. Median ms of >= 5 runs for one decode step
 * (batch 1 and 4), verify of 8/16/32/64-node trees and chains, prefill of 512 tokens, commit of 1/4/8 accepted
 * tokens, for weights as initializers and as inputs. The floor is weight bytes / read bandwidth.
 *
 *   pnpm turbo run build --filter=@densessm/backend-node...
 *   npx vitest run --config bench/models/vitest.config.ts      # BENCH_THREADS=2 BENCH_RUNS=7 BENCH_TAG=...
 * Writes bench/results/models-dense_retnet-<tag>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { createNodeBackend } from '../../packages/backend-node/src/index.js';
import {
  createRng,
  type LanguageModel,
  modelFromCheckpoint,
  type TokenTree,
  type WeightPlacement,
} from '../../packages/models/src/index.js';
import { randomWeights } from '../../packages/models/src/testing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const PLACEMENTS = (process.env.BENCH_WEIGHTS ?? 'initializers,inputs').split(',') as WeightPlacement[];
/** DESIGN.md section 7: DRAM read bandwidth of this machine with two threads (GB/s), unless measured. */
const DESIGN_BANDWIDTH_GBS = 34;
const VOCAB = 8192;

const CONFIG = {
  model_type: 'dense_retnet',
  hidden_size: 512,
  query_key_dim: 256,
  num_attention_heads: 2,
  v_factor: 2,
  num_hidden_layers: 12,
  vocab_size: VOCAB,
  rms_norm_eps: 1e-6,
  dense_block_layers: 2,
};

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Number(sorted[Math.floor(sorted.length / 2)].toFixed(3));
}

/**
 * Times every case once per round, round after round (after one warm-up round that builds the sessions), so
 * that load from other processes on the machine hits all cases alike and their ratios stay meaningful.
 * A case returns the ms to count, or undefined to count its whole call.
 */
async function roundRobin(
  cases: Record<string, () => Promise<number | undefined>>,
  rounds: number,
): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const t0 = performance.now();
      const counted = (await run()) ?? performance.now() - t0;
      if (round > 0) times[name].push(counted);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

function tokens(n: number, rand: () => number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rand() * VOCAB));
}

/** Node i under node floor((i-1)/2): a binary tree, depth ~log2(n). */
function bushyTree(n: number, rand: () => number): TokenTree {
  return {
    tokens: tokens(n, rand),
    parents: Int32Array.from({ length: n }, (_, i) => (i === 0 ? -1 : (i - 1) >> 1)),
  };
}

/** Width-4 beam of depth n/4: 4 roots, each a chain (a typical drafted tree shape). */
function beamTree(n: number, rand: () => number): TokenTree {
  return { tokens: tokens(n, rand), parents: Int32Array.from({ length: n }, (_, i) => (i < 4 ? -1 : i - 4)) };
}

function chainTree(n: number, rand: () => number): TokenTree {
  return { tokens: tokens(n, rand), parents: Int32Array.from({ length: n }, (_, i) => i - 1) };
}

/** The backends benchmark's one-thread read bandwidth from wasm SIMD (a lower bound of what kernels reach). */
function measuredBandwidth(): number | undefined {
  try {
    const b = JSON.parse(readFileSync(join(import.meta.dirname, '../results/backends-cpu.json'), 'utf8'));
    return b?.memory_read_bandwidth?.wasm_simd_GBps;
  } catch {
    return undefined;
  }
}

async function measure(model: LanguageModel): Promise<Record<string, number>> {
  const rand = createRng(3);
  const state = model.newState();
  await model.prefill([{ state, tokens: tokens(100, rand) }]);
  const batch = Array.from({ length: 4 }, () => state.clone());
  const cases: Record<string, () => Promise<number | undefined>> = {
    step_ms: async () => void (await model.step([{ state: state.clone(), token: 17 }])),
    step_batch4_ms: async () => void (await model.step(batch.map((s) => ({ state: s.clone(), token: 17 })))),
  };
  for (const n of [8, 16, 32, 64]) {
    for (const [shape, make] of [
      ['tree', bushyTree],
      ['beam4', beamTree],
      ['chain', chainTree],
    ] as const) {
      const tree = make(n, rand);
      cases[`verify_${shape}${n}_ms`] = async () => void (await model.verify([{ state, tree }]));
    }
  }
  const tree16 = bushyTree(16, rand);
  cases.verify_batch4x16_ms = async () =>
    void (await model.verify(batch.map((s) => ({ state: s, tree: tree16 }))));
  const prompt = tokens(512, rand);
  cases.prefill512_ms = async () => void (await model.prefill([{ state: model.newState(), tokens: prompt }]));
  const chain8 = chainTree(8, rand);
  for (const k of [1, 4, 8]) {
    const path = Array.from({ length: k }, (_, i) => i);
    // A verify output belongs to one state as it is: verify a fresh clone (untimed), then time its commit.
    cases[`commit${k}_ms`] = async () => {
      const s = state.clone();
      const [verified] = await model.verify([{ state: s, tree: chain8 }]);
      const t0 = performance.now();
      await model.commit([{ state: s, verified, path }]);
      return performance.now() - t0;
    };
  }
  const r = await roundRobin(cases, RUNS);
  r.verify_tree16_over_step = Number((r.verify_tree16_ms / r.step_ms).toFixed(3));
  r.verify_tree16_plus_commit4_over_step = Number(
    ((r.verify_tree16_ms + r.commit4_ms) / r.step_ms).toFixed(3),
  );
  return r;
}

it('dense_retnet ~31M benchmark', async () => {
  const weightsRaw = randomWeights(CONFIG, 7);
  const checkpoint = { config: CONFIG, tensors: weightsRaw, source: 'bench', fileOf: () => 'bench' };
  const parameters = [...weightsRaw.values()].reduce((n, t) => n + t.data.length, 0);
  const floorMs = ((parameters * 4) / (DESIGN_BANDWIDTH_GBS * 1e9)) * 1e3;
  const backend = createNodeBackend({ threads: THREADS });
  const results: Record<string, Record<string, number>> = {};
  for (const placement of PLACEMENTS) {
    const model = await modelFromCheckpoint(checkpoint, { backend, threads: THREADS, weights: placement });
    results[`weights_${placement}`] = await measure(model);
    await model.dispose();
    console.log(placement, JSON.stringify(results[`weights_${placement}`], null, 1));
  }
  const out = {
    benchmark: 'models-dense_retnet',
    model: {
      ...CONFIG,
      parameters,
      weightBytes: parameters * 4,
      stateBytesPerSequence: 12 * 2 * 512 * 128 * 4,
    },
    floor: {
      stepMs: Number(floorMs.toFixed(3)),
      bandwidthGBs: DESIGN_BANDWIDTH_GBS,
      bandwidthSource: 'DESIGN.md section 7 (two threads)',
      backendsBenchWasmSimdGBs: measuredBandwidth() ?? null,
    },
    backend: backend.name,
    threads: THREADS,
    runs: RUNS,
    cpu: cpus()[0]?.model,
    cores: availableParallelism(),
    node: process.version,
    date: new Date().toISOString(),
    note: 'medians of RUNS runs after a warm-up; other processes may share the 2 cores, so treat as indicative',
    results,
  };
  const dir = join(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `models-dense_retnet-${process.env.BENCH_TAG ?? 'latest'}.json`),
    `${JSON.stringify(out, null, 2)}\n`,
  );
});
