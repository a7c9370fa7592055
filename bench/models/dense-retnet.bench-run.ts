/**
 * Benchmark (not a test): a random dense_retnet of hidden 512, 12 layers, qk 256, v_factor 2, 2 heads,
 * vocab 8192, m = 2 (~31M params; DESIGN.md section 7) on backend-node. Median ms over rounds (round-robin over
 * all cases, see harness.ts) for: one decode step (batch 1 and 4), verify of 8/16/32/64-node trees of three
 * shapes and of a batch of 4 x 16, prefill of 512 tokens, commit of 1/4/8 accepted tokens; for weights as
 * initializers and as inputs. The floor of a step is weight bytes / read bandwidth.
 *
 *   pnpm turbo run build --filter=@densessm/backend-node...
 *   npx vitest run --config bench/models/vitest.config.ts dense-retnet   # BENCH_THREADS=2 BENCH_RUNS=7 BENCH_TAG=...
 * Writes bench/results/models-dense_retnet-<tag>.json.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { createNodeBackend } from '../../packages/backend-node/src/index.js';
import {
  createRng,
  type LanguageModel,
  modelFromCheckpoint,
  type WeightPlacement,
} from '../../packages/models/src/index.js';
import { randomWeights } from '../../packages/models/src/testing.js';
import { randomTokens, roundRobin, type Timer, type Timings, treeOf, writeResult } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const PLACEMENTS = (process.env.BENCH_WEIGHTS ?? 'initializers,inputs').split(',') as WeightPlacement[];
/** DESIGN.md section 7: DRAM read bandwidth of this machine with two threads (GB/s). */
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

/** The backends benchmark's one-thread read bandwidth from wasm SIMD (a lower bound of what kernels reach). */
function backendsBenchBandwidth(): number | null {
  try {
    const b = JSON.parse(readFileSync(join(import.meta.dirname, '../results/backends-cpu.json'), 'utf8'));
    return b?.memory_read_bandwidth?.wasm_simd_GBps ?? null;
  } catch {
    return null;
  }
}

async function measure(model: LanguageModel): Promise<Timings> {
  const rand = createRng(3);
  const state = model.newState();
  await model.prefill([{ state, tokens: randomTokens(100, VOCAB, rand) }]);
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
    for (const shape of ['tree', 'beam4', 'chain']) {
      const tree = treeOf(shape, n, VOCAB, rand);
      cases[`verify_${shape}${n}`] = async () => void (await model.verify([{ state, tree }]));
    }
  }
  const tree16 = treeOf('tree', 16, VOCAB, rand);
  cases.verify_batch4x16 = async () =>
    void (await model.verify(batch.map((s) => ({ state: s, tree: tree16 }))));
  const prompt = randomTokens(512, VOCAB, rand);
  cases.prefill512 = async () => void (await model.prefill([{ state: model.newState(), tokens: prompt }]));
  const chain8 = treeOf('chain', 8, VOCAB, rand);
  for (const k of [1, 4, 8]) {
    const path = Array.from({ length: k }, (_, i) => i);
    // A verify output belongs to one state as it is: verify a fresh clone (untimed), then time its commit.
    cases[`commit${k}`] = async (time) => {
      const s = state.clone();
      const [verified] = await model.verify([{ state: s, tree: chain8 }]);
      await time(() => model.commit([{ state: s, verified, path }]));
    };
  }
  return roundRobin(cases, RUNS);
}

/** Ratios that decide whether speculation pays (DESIGN.md section 7). */
function ratios(t: Record<string, number>): Record<string, number> {
  const r = (x: number) => Number(x.toFixed(3));
  return {
    verify_tree16_over_step: r(t.verify_tree16 / t.step),
    verify_tree16_plus_commit4_over_step: r((t.verify_tree16 + t.commit4) / t.step),
    verify_tree64_over_step: r(t.verify_tree64 / t.step),
    step_batch4_over_step: r(t.step_batch4 / t.step),
    step_batch16_over_step: r(t.step_batch16 / t.step),
  };
}

it('dense_retnet ~31M benchmark', async () => {
  const tensors = randomWeights(CONFIG, 7);
  const checkpoint = { config: CONFIG, tensors, source: 'bench', fileOf: () => 'bench' };
  const parameters = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
  const backend = createNodeBackend({ threads: THREADS });
  const results: Record<string, unknown> = {};
  for (const placement of PLACEMENTS) {
    const model = await modelFromCheckpoint(checkpoint, { backend, threads: THREADS, weights: placement });
    const t = await measure(model);
    await model.dispose();
    results[`weights_${placement}`] = {
      wall_ms: t.wall,
      cpu_ms: t.cpu,
      wall_ratios: ratios(t.wall),
      cpu_ratios: ratios(t.cpu),
    };
    console.log(placement, JSON.stringify(results[`weights_${placement}`], null, 1));
  }
  writeResult('models-dense_retnet', process.env.BENCH_TAG ?? 'latest', {
    model: {
      ...CONFIG,
      parameters,
      weightBytes: parameters * 4,
      stateBytesPerSequence: 12 * 2 * 512 * 128 * 4,
    },
    floor: {
      stepMs: Number((((parameters * 4) / (DESIGN_BANDWIDTH_GBS * 1e9)) * 1e3).toFixed(3)),
      bandwidthGBs: DESIGN_BANDWIDTH_GBS,
      bandwidthSource: 'DESIGN.md section 7 (two threads)',
      backendsBenchWasmSimdGBs: backendsBenchBandwidth(),
    },
    backend: backend.name,
    threads: THREADS,
    rounds: RUNS,
    note: 'medians over round-robin rounds after a warm-up round; cpu_ms = user+system of all threads; other processes shared the 2 cores (see loadavg)',
    loadavg: loadavg(),
    results,
  });
});
