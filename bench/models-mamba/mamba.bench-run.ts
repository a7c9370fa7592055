/**
 * Benchmark (not a test): a random Mamba-1 of d_model 512, 12 layers, vocab 8192 (DESIGN.md section 7) on
 * backend-node with 2 threads. Median ms of >= 5 runs for: one decode step, verify of 8/16/32/64-node trees and
 * chains, prefill of 512 tokens, commit of 1/4/8 accepted tokens. Writes bench/results/models-mamba-<date>.json.
 *
 *   npx vitest run --config bench/models-mamba/vitest.config.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { createNodeBackend } from '../../packages/backend-node/src/index.js';
import type { TokenTree } from '../../packages/models/src/language-model.js';
import { parseMambaConfig } from '../../packages/models/src/mamba/config.js';
import { MambaModel } from '../../packages/models/src/mamba/model.js';
import { bindGenerated, randomMambaWeights, rng } from '../../packages/models/src/mamba/test-kit.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);

async function median(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up (builds the session for this shape bucket)
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A tree where node i hangs under node floor((i-1)/fanout): depth ~ log_fanout(n). */
function bushyTree(n: number, fanout: number, rand: () => number): TokenTree {
  return {
    tokens: Int32Array.from({ length: n }, () => Math.floor(rand() * 8192)),
    parents: Int32Array.from({ length: n }, (_, i) => (i === 0 ? -1 : Math.floor((i - 1) / fanout))),
  };
}

function chain(n: number, rand: () => number): TokenTree {
  return {
    tokens: Int32Array.from({ length: n }, () => Math.floor(rand() * 8192)),
    parents: Int32Array.from({ length: n }, (_, i) => i - 1),
  };
}

it('mamba 24.5M benchmark', async () => {
  const config = parseMambaConfig({
    model_type: 'mamba',
    vocab_size: 8192,
    hidden_size: 512,
    intermediate_size: 1024,
    state_size: 16,
    time_step_rank: 32,
    conv_kernel: 4,
    num_hidden_layers: 12,
    use_bias: false,
    use_conv_bias: true,
  });
  const weights = bindGenerated(config, randomMambaWeights(config, 7));
  const backend = createNodeBackend({ threads: THREADS });
  const model = new MambaModel(config, weights, { backend, threads: THREADS });
  const rand = rng(3);
  const state = model.newState();
  await model.prefill([{ state, tokens: Int32Array.from({ length: 64 }, () => Math.floor(rand() * 8192)) }]);

  const results: Record<string, number> = {};
  results.step_ms = await median(RUNS * 4, () => model.step([{ state: state.clone(), token: 17 }]));
  for (const n of [8, 16, 32, 64]) {
    const bushy = bushyTree(n, 2, rand);
    results[`verify_tree${n}_ms`] = await median(RUNS, () => model.verify([{ state, tree: bushy }]));
    const c = chain(n, rand);
    results[`verify_chain${n}_ms`] = await median(RUNS, () => model.verify([{ state, tree: c }]));
  }
  const prompt = Int32Array.from({ length: 512 }, () => Math.floor(rand() * 8192));
  results.prefill512_ms = await median(RUNS, () =>
    model.prefill([{ state: model.newState(), tokens: prompt }]),
  );
  const tree = chain(8, rand);
  const [verified] = await model.verify([{ state, tree }]);
  for (const k of [1, 4, 8]) {
    const path = Array.from({ length: k }, (_, i) => i);
    results[`commit${k}_ms`] = await median(RUNS, async () => {
      const s = state.clone();
      await model.commit([{ state: s, verified, path }]);
    });
  }
  results.verify16_over_step = results.verify_tree16_ms / results.step_ms;
  await model.dispose();
  const out = {
    benchmark: 'models-mamba',
    model: { ...config, parameters: weights.parameterCount },
    backend: backend.name,
    threads: THREADS,
    runs: RUNS,
    cpu: cpus()[0]?.model,
    cores: availableParallelism(),
    node: process.version,
    date: new Date().toISOString(),
    results,
  };
  const dir = join(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `models-mamba-${process.env.BENCH_TAG ?? 'latest'}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
});
