/**
 * Benchmark (not a test): a random Mamba-1 of d_model 512, 12 layers, vocab 8192 (24.5M params; DESIGN.md
 * section 7: llama.cpp 3.7 ms/step f32, ORT probe 4.2-4.7 ms) on backend-node. Median ms over round-robin
 * rounds (harness.ts) of: one decode step (batch 1 and 4), verify of 8/16/32/64-node trees (binary, 4 beams,
 * chain) and a batch of 4 x 16, prefill of 512 tokens, commit of 1/4/8 accepted tokens.
 *
 *   pnpm turbo run build --filter=@densessm/backend-node...
 *   npx vitest run --config bench/models-mamba/vitest.config.ts mamba.bench   # BENCH_THREADS BENCH_RUNS BENCH_TAG
 * Writes bench/results/models-mamba-<tag>.json.
 */
import { loadavg } from 'node:os';
import { it } from 'vitest';
import { createNodeBackend } from '../../packages/backend-node/src/index.js';
import { createRng, type LanguageModel, modelFromCheckpoint } from '../../packages/models/src/index.js';
import { mambaInit } from '../../packages/models/src/mamba/test-kit.js';
import { randomWeights } from '../../packages/models/src/testing.js';
import {
  randomTokens,
  roundRobin,
  type Timer,
  type Timings,
  treeOf,
  writeResult,
} from '../models/harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const PREFILL_CHUNK = Number(process.env.BENCH_PREFILL_CHUNK ?? 64);
const VOCAB = 8192;
/** DESIGN.md section 7: DRAM read bandwidth with two threads (GB/s). */
const BANDWIDTH_GBS = 34;

const CONFIG = {
  model_type: 'mamba',
  hidden_size: 512,
  intermediate_size: 1024,
  state_size: 16,
  time_step_rank: 32,
  conv_kernel: 4,
  num_hidden_layers: 12,
  vocab_size: VOCAB,
  use_bias: false,
  use_conv_bias: true,
  tie_word_embeddings: true,
};

async function measure(model: LanguageModel): Promise<Timings> {
  const rand = createRng(3);
  const state = model.newState();
  await model.prefill([{ state, tokens: randomTokens(100, VOCAB, rand) }]);
  const batch = Array.from({ length: 4 }, () => state.clone());
  // step / commit advance their state: each run works on a clone made outside the timed region.
  const cases: Record<string, (time: Timer) => Promise<void>> = {
    step: async (time) => {
      const s = state.clone();
      await time(() => model.step([{ state: s, token: 17 }]));
    },
    step_batch4: async (time) => {
      const items = batch.map((s) => ({ state: s.clone(), token: 17 }));
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
    cases[`commit${k}`] = async (time) => {
      const s = state.clone();
      const [verified] = await model.verify([{ state: s, tree: chain8 }]);
      await time(() => model.commit([{ state: s, verified, path }]));
    };
  }
  return roundRobin(cases, RUNS);
}

/** The ratios that decide whether speculation pays (DESIGN.md section 7; goal: verify of 16 nodes < 2 steps). */
function ratios(t: Record<string, number>): Record<string, number> {
  const r = (x: number) => Number(x.toFixed(3));
  return {
    verify_tree16_over_step: r(t.verify_tree16 / t.step),
    verify_tree16_plus_commit4_over_step: r((t.verify_tree16 + t.commit4) / t.step),
    verify_chain16_over_step: r(t.verify_chain16 / t.step),
    prefill512_per_token_over_step: r(t.prefill512 / 512 / t.step),
  };
}

it('mamba 24.5M benchmark', async () => {
  const tensors = randomWeights(CONFIG, 7, mambaInit());
  const checkpoint = { config: CONFIG, tensors, source: 'bench', fileOf: () => 'bench' };
  const parameters = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
  const backend = createNodeBackend({ threads: THREADS });
  const model = await modelFromCheckpoint(checkpoint, {
    backend,
    threads: THREADS,
    prefillChunk: PREFILL_CHUNK,
  });
  const loadBefore = loadavg();
  const t = await measure(model);
  await model.dispose();
  const results = { wall_ms: t.wall, cpu_ms: t.cpu, wall_ratios: ratios(t.wall), cpu_ratios: ratios(t.cpu) };
  console.log(JSON.stringify(results, null, 1));
  writeResult('models-mamba', process.env.BENCH_TAG ?? 'latest', {
    model: {
      ...CONFIG,
      parameters,
      weightBytes: parameters * 4,
      stateBytesPerSequence: 12 * 1024 * (3 + 16) * 4,
    },
    floor: {
      stepMs: Number((((parameters * 4) / (BANDWIDTH_GBS * 1e9)) * 1e3).toFixed(3)),
      bandwidthGBs: BANDWIDTH_GBS,
    },
    backend: backend.name,
    threads: THREADS,
    rounds: RUNS,
    prefillChunk: PREFILL_CHUNK,
    note: 'medians over round-robin rounds after a warm-up round; cpu_ms = user+system of all threads (the work itself with 1 thread); other processes shared the 2 cores (see loadavg)',
    loadavg: { before: loadBefore, after: loadavg() },
    results,
  });
});
