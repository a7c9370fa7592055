/**
 * Dev tool (not a test, not a benchmark result): onnxruntime-node's per-op-type kernel time for the Mamba step and
 * verify graphs of the 24.5M benchmark model, to see where time goes. Talks to onnxruntime-node directly because
 * profiling is not part of the Backend interface.
 *
 *   NODES=1,16 PROF=1 FAN=2 npx vitest run --config bench/models/vitest.config.ts ops-profile
 */
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { it } from 'vitest';
// @ts-expect-error
import * as ort from '../../packages/backend-node/node_modules/onnxruntime-node/dist/index.js';
import { ConfigReader } from '../../packages/models/src/config.js';
import { parseMambaConfig } from '../../packages/models/src/mamba/config.js';
import { buildForwardGraph, type ForwardSpec, IO } from '../../packages/models/src/mamba/graph.js';
import { forestLayout } from '../../packages/models/src/mamba/layout.js';
import { prepareMambaWeights } from '../../packages/models/src/mamba/prepared.js';
import { mambaInit } from '../../packages/models/src/mamba/test-kit.js';
import { mambaWeightSpecs } from '../../packages/models/src/mamba/weights.js';
import { randomWeights } from '../../packages/models/src/testing.js';
import { bindWeights } from '../../packages/models/src/weights.js';
import { benchEnv } from './harness.js';

it('profile', async () => {
  const raw = {
    model_type: 'mamba',
    vocab_size: 8192,
    hidden_size: 512,
    intermediate_size: 1024,
    state_size: 16,
    time_step_rank: 32,
    conv_kernel: 4,
    num_hidden_layers: 12,
    use_bias: false,
  };
  const config = parseMambaConfig(new ConfigReader(raw, 'x'));
  const weights = bindWeights(mambaWeightSpecs(config), randomWeights(raw, 7, mambaInit()), 'x', () => 'x');
  const prepared = prepareMambaWeights(config, weights);
  const prof = benchEnv('PROF', '0') === '1';
  for (const n of benchEnv('NODES', '1,16').split(',').map(Number)) {
    const fan = Number(benchEnv('FAN', '2'));
    const parents = Int32Array.from({ length: n }, (_, i) => (i === 0 ? -1 : Math.floor((i - 1) / fan)));
    const layout = forestLayout([{ parents, lastNode: 0 }], 4);
    const step = n === 1;
    const spec: ForwardSpec = step
      ? { levels: 1, step: true, uniform: true, newState: true, deltas: false, logits: 'all' }
      : {
          levels: layout.levels,
          step: false,
          uniform: layout.uniform,
          newState: false,
          deltas: true,
          logits: 'all',
        };
    const built = buildForwardGraph(prepared, spec, 'initializers');
    const sess = await ort.InferenceSession.create(built.bytes, {
      intraOpNumThreads: Number(benchEnv('THREADS', '2')),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableProfiling: prof,
      profileFilePrefix: '/tmp/mprof',
    });
    const L = 12,
      E = 1024,
      N = 16;
    const feeds: Record<string, unknown> = {
      [IO.embeds]: new ort.Tensor(
        'float32',
        weights.get('backbone.embeddings.weight').data.slice(0, n * 512),
        [n, 512],
      ),
      [IO.conv]: new ort.Tensor('float32', new Float32Array(L * 3 * E), [1, L, 3, E]),
      [IO.ssm]: new ort.Tensor('float32', new Float32Array(L * E * N), [1, L, N, E]),
    };
    if (!step) {
      feeds[IO.levelSizes] = new ort.Tensor('int64', layout.levelSizes, [layout.levels]);
      feeds[IO.parents] = new ort.Tensor('int64', layout.parents, [n]);
      feeds[IO.convIndex] = new ort.Tensor('int64', layout.convIndex, [n, 4]);
    }
    for (let i = 0; i < 3; i++) await sess.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      await sess.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(
      `nodes=${n} levels=${layout.levels} median ms ${times[7].toFixed(2)} min ${times[0].toFixed(2)}`,
    );
    if (prof) {
      sess.endProfiling();
      const file =
        '/tmp/' +
        readdirSync('/tmp')
          .filter((f: string) => f.startsWith('mprof'))
          .sort()
          .pop();
      const events = JSON.parse(readFileSync(file, 'utf8')) as {
        cat: string;
        name: string;
        dur: number;
        args: { op_name?: string };
      }[];
      const byOp = new Map<string, { dur: number; count: number }>();
      for (const e of events) {
        if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
        const op = e.args.op_name ?? '?';
        const r = byOp.get(op) ?? { dur: 0, count: 0 };
        r.dur += e.dur;
        r.count++;
        byOp.set(op, r);
      }
      const runs = 18;
      let total = 0;
      let count = 0;
      for (const r of byOp.values()) {
        total += r.dur;
        count += r.count;
      }
      console.log(
        `kernels/run ${count / runs} kernel ms/run ${(total / runs / 1000).toFixed(2)}\n` +
          [...byOp.entries()]
            .sort((a, b) => b[1].dur - a[1].dur)
            .map(([op, r]) => `${op.padEnd(22)} ${(r.dur / runs / 1000).toFixed(3)} ms  x${r.count / runs}`)
            .join('\n'),
      );
      if (benchEnv('KEEP', '0') !== '1') unlinkSync(file);
    }
    await sess.release();
  }
});
