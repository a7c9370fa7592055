/**
 * Benchmark (not a test): a random Mamba-1 of d_model 512, 12 layers, vocab 8192 (24.5M params; DESIGN.md
 * section 7: llama.cpp 3.7 ms/step f32, ORT probe 4.2-4.7 ms) on backend-node. Median ms over round-robin
 * rounds (harness.ts measureLanguageModel) of: one decode step (batch 1 and 4), verify of 8/16/32/64-node trees (binary, 4 beams,
 * chain) and a batch of 4 x 16, prefill of 512 tokens, commit of 1/4/8 accepted tokens.
 *
 *   pnpm turbo run build --filter=@densessm/backend-node...
 *   npx vitest run --config bench/models/vitest.config.ts mamba.bench   # BENCH_THREADS BENCH_RUNS BENCH_TAG
 * Writes bench/results/models-mamba-<tag>.json.
 */
import { loadavg } from 'node:os';
import { it } from 'vitest';
import { createNodeBackend } from '../../packages/backend-node/src/index.js';
import { modelFromCheckpoint } from '../../packages/models/src/index.js';
import { mambaInit } from '../../packages/models/src/mamba/test-kit.js';
import { randomWeights } from '../../packages/models/src/testing.js';
import { benchEnv, measureLanguageModel, speculationRatios, writeResult } from './harness.js';

const RUNS = Number(benchEnv('BENCH_RUNS', '7'));
const THREADS = Number(benchEnv('BENCH_THREADS', '2'));
const PREFILL_CHUNK = Number(benchEnv('BENCH_PREFILL_CHUNK', '64'));
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
  const t = await measureLanguageModel(model, VOCAB, RUNS);
  await model.dispose();
  const results = {
    wall_ms: t.wall,
    cpu_ms: t.cpu,
    wall_ratios: speculationRatios(t.wall),
    cpu_ratios: speculationRatios(t.cpu),
  };
  console.log(JSON.stringify(results, null, 1));
  writeResult('models-mamba', benchEnv('BENCH_TAG', 'latest'), {
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
