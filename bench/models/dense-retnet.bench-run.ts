/**
 * Benchmark (not a test): a random dense_retnet of hidden 512, 12 layers, qk 256, v_factor 2, 2 heads,
 * vocab 8192, m = 2 (~31M params; DESIGN.md section 7) on backend-node. Median ms over rounds (round-robin over
 * all cases, see harness.ts) for: one decode step (batch 1 and 4), verify of 8/16/32/64-node trees of three
 * shapes and of a batch of 4 x 16, prefill of 512 tokens, commit of 1/4/8 accepted tokens; for weights as
 * initializers and as inputs; plus sustained decoding and speculation rounds (harness.ts). The floor of a step is
 * weight bytes / read bandwidth. BENCH_PENDING_WINDOWS (e.g. '0,32') runs each placement per pending window
 * (results keyed weights_<placement>_w<W>); unset, the model's default window (keys weights_<placement>).
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
import { modelFromCheckpoint, type WeightPlacement } from '../../packages/models/src/index.js';
import { randomWeights } from '../../packages/models/src/testing.js';
import { benchEnv, measureLanguageModel, speculationRatios, writeResult } from './harness.js';

const RUNS = Number(benchEnv('BENCH_RUNS', '7'));
const THREADS = Number(benchEnv('BENCH_THREADS', '2'));
const PLACEMENTS = benchEnv('BENCH_WEIGHTS', 'initializers,inputs').split(',') as WeightPlacement[];
const WINDOWS = benchEnv('BENCH_PENDING_WINDOWS', '')
  .split(',')
  .filter((w) => w !== '')
  .map(Number);
/** DESIGN.md section 7: DRAM read bandwidth of this machine with two threads (GB/s). */
const DESIGN_BANDWIDTH_GBS = 34;
const VOCAB = 8192;
const LOADAVG_BEFORE = loadavg();

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

it('dense_retnet ~31M benchmark', async () => {
  const tensors = randomWeights(CONFIG, 7);
  const checkpoint = { config: CONFIG, tensors, source: 'bench', fileOf: () => 'bench' };
  const parameters = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
  const backend = createNodeBackend({ threads: THREADS });
  const results: Record<string, unknown> = {};
  for (const placement of PLACEMENTS) {
    for (const pendingWindow of WINDOWS.length > 0 ? WINDOWS : [undefined]) {
      const model = await modelFromCheckpoint(checkpoint, {
        backend,
        threads: THREADS,
        weights: placement,
        ...(pendingWindow === undefined ? {} : { pendingWindow }),
      });
      const t = await measureLanguageModel(model, VOCAB, RUNS);
      await model.dispose();
      const key = `weights_${placement}${pendingWindow === undefined ? '' : `_w${pendingWindow}`}`;
      results[key] = {
        wall_ms: t.wall,
        cpu_ms: t.cpu,
        wall_ratios: speculationRatios(t.wall),
        cpu_ratios: speculationRatios(t.cpu),
      };
      console.log(key, JSON.stringify(results[key], null, 1));
    }
  }
  writeResult('models-dense_retnet', benchEnv('BENCH_TAG', 'latest'), {
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
    pendingWindows: WINDOWS.length > 0 ? WINDOWS : 'model default',
    loadavgBefore: LOADAVG_BEFORE,
    note: 'medians over round-robin rounds after a warm-up round; cpu_ms = user+system of all threads; other processes shared the 2 cores (see loadavg)',
    loadavg: loadavg(),
    loadavgNote: 'loadavg = after the run; loadavgBefore = when the module loaded',
    results,
  });
});
