#!/usr/bin/env node
/**
 * Backend micro-benchmark (not a test): per-call overhead of a tiny graph and MatMul throughput on
 * backend-node vs backend-web (wasm, in Node), plus the machine's single-thread memory read bandwidth from JS.
 *
 *   pnpm turbo run build --filter=@densessm/backend-node... --filter=@densessm/backend-web...
 *   node bench/backends/run.mjs            # writes bench/results/backends-cpu.json
 *
 * Every figure is the median of >= 5 runs. Each backend runs in its own child process (onnxruntime-web's thread
 * count is process-global, and the two runtimes should not share caches or threads).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const RUNS = 7;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 3) => Number(x.toFixed(d));

async function loadTensor() {
  return import(join(root, 'packages/tensor/dist/index.js'));
}

async function makeBackend(kind, threads, validate) {
  if (kind === 'node') {
    const { createNodeBackend } = await import(join(root, 'packages/backend-node/dist/index.js'));
    return createNodeBackend({ threads, validateFeeds: validate });
  }
  const { createWebBackend } = await import(join(root, 'packages/backend-web/dist/index.js'));
  return createWebBackend({ threads, executionProviders: ['wasm'], validateFeeds: validate });
}

/** Times `fn` (async) `iters` times per run, `RUNS` runs; returns the median per-call milliseconds. */
async function timeCalls(fn, iters, warmup = Math.max(3, iters >> 3)) {
  for (let i = 0; i < warmup; i++) await fn();
  const perCall = [];
  const cpuPerCall = [];
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await fn();
    perCall.push((performance.now() - t0) / iters);
    const c = process.cpuUsage(c0);
    cpuPerCall.push((c.user + c.system) / 1000 / iters);
  }
  // cpu_ms: CPU time of the whole process per call (all threads). With 1 thread it is robust to other load on
  // the machine; with more threads it includes onnxruntime's spin-waiting.
  return {
    median_ms: round(median(perCall), 5),
    best_ms: round(Math.min(...perCall), 5),
    cpu_ms: round(median(cpuPerCall), 5),
    runs_ms: perCall.map((x) => round(x, 5)),
  };
}

/** Uniform values in [-0.5, 0.5) (timing only needs non-trivial data; results are checked against JS). */
function randomFloats(n) {
  return Float32Array.from({ length: n }, () => Math.random() - 0.5);
}

async function benchBackend(kind, threads) {
  const { GraphBuilder, float32 } = await loadTensor();
  const out = {
    backend: kind === 'node' ? 'onnxruntime-node (cpu)' : 'onnxruntime-web (wasm, in Node)',
    threads,
  };

  // 1. per-call overhead: y = x + c on [1, 8]
  for (const validate of [true, false]) {
    const backend = await makeBackend(kind, threads, validate);
    const g = new GraphBuilder('tiny');
    const x = g.input('x', 'float32', [1, 8]);
    g.output(g.op('Add', [x, g.constant(float32([8], new Float32Array(8).fill(1)))]), 'y', 'float32', [1, 8]);
    const s = await backend.createSession(g.toBytes(), { name: 'tiny' });
    const feed = { x: float32([1, 8]) };
    out[validate ? 'tiny_call' : 'tiny_call_no_validation'] = await timeCalls(() => s.run(feed), 2000);
    await s.release();
  }

  // 1b. per-call overhead with many feeds (a graph whose weights are fed as inputs): 200 inputs of [8] summed
  {
    const backend = await makeBackend(kind, threads, true);
    const g = new GraphBuilder('many');
    let acc = g.input('f0', 'float32', [8]);
    for (let i = 1; i < 200; i++) acc = g.op('Add', [acc, g.input(`f${i}`, 'float32', [8])]);
    g.output(acc, 'y', 'float32', [8]);
    const s = await backend.createSession(g.toBytes(), { name: 'many' });
    const feeds = {};
    for (let i = 0; i < 200; i++) feeds[`f${i}`] = float32([8], new Float32Array(8).fill(1));
    out.call_200_feeds_200_adds = await timeCalls(() => s.run(feeds), 300);
    await s.release();
    // the same graph with the 199 extra operands as initializers: the difference is the cost of feeding
    const h = new GraphBuilder('many_init');
    const x = h.input('f0', 'float32', [8]);
    let sum = x;
    for (let i = 1; i < 200; i++)
      sum = h.op('Add', [sum, h.initializer(`w${i}`, float32([8], new Float32Array(8).fill(1)))]);
    h.output(sum, 'y', 'float32', [8]);
    const t = await backend.createSession(h.toBytes(), { name: 'many_init' });
    const one = { f0: feeds.f0 };
    out.call_1_feed_200_adds = await timeCalls(() => t.run(one), 300);
    await t.release();
  }

  // 1c. a large output (a 6.4 MB state): fresh output array vs written into a caller-owned tensor (RunOptions.into)
  {
    const backend = await makeBackend(kind, threads, true);
    const N = 1_600_000;
    const g = new GraphBuilder('state');
    const x = g.input('x', 'float32', [N]);
    g.output(g.op('Mul', [x, g.constant(float32([1], [0.5]))]), 'y', 'float32', [N]);
    const s = await backend.createSession(g.toBytes(), { name: 'state' });
    const feeds = { x: float32([N], new Float32Array(N).fill(2)) };
    const into = { y: float32([N]) };
    out.state_6MB_fresh_output = await timeCalls(() => s.run(feeds), 20);
    out.state_6MB_into_output = await timeCalls(() => s.run(feeds, undefined, { into }), 20);
    if (into.y.data[N - 1] !== 1) throw new Error('into output is wrong');
    await s.release();
  }

  // 2. MatMul throughput with the weight as an initializer (as the models bind weights)
  const backend = await makeBackend(kind, threads, true);
  const K = 512;
  const N = 8192;
  const w = float32([K, N], randomFloats(K * N));
  for (const [M, weightAs] of [
    [1, 'initializer'],
    [16, 'initializer'],
    [1, 'feed'],
    [16, 'feed'],
  ]) {
    const g = new GraphBuilder(`mm${M}`);
    const x = g.input('x', 'float32', [M, K]);
    const wv = weightAs === 'feed' ? g.input('w', 'float32', [K, N]) : g.initializer('w', w);
    g.output(g.op('MatMul', [x, wv]), 'y', 'float32', [M, N]);
    const s = await backend.createSession(g.toBytes(), { name: `matmul_${M}` });
    const feed = { x: float32([M, K], randomFloats(M * K)), ...(weightAs === 'feed' ? { w } : {}) };
    // check one result against plain TS so a broken run cannot report a fast time
    const y = (await s.run(feed)).y.data;
    let ref = 0;
    for (let k = 0; k < K; k++) ref += feed.x.data[k] * w.data[k * N + 5];
    if (Math.abs(y[5] - ref) > 1e-3) throw new Error(`matmul check failed: ${y[5]} vs ${ref}`);
    const t = await timeCalls(() => s.run(feed), M === 1 ? 100 : 40);
    const weightBytes = K * N * 4;
    out[`matmul_${M}x${K}x${N}${weightAs === 'feed' ? '_weight_fed' : ''}`] = {
      ...t,
      weight_GBps: round(weightBytes / (t.median_ms * 1e6), 2),
      GFLOPs: round((2 * M * K * N) / (t.median_ms * 1e6), 2),
    };
    await s.release();
  }
  return out;
}

/** A hand-assembled WebAssembly SIMD kernel: sum of f32 over [ptr, ptr + bytes), 8 v128 accumulators. */
function simdSumModule(pages) {
  const leb = (n) => {
    const b = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      b.push(byte);
    } while (n !== 0);
    return b;
  };
  const section = (id, content) => [id, ...leb(content.length), ...content];
  const ACC = 8;
  const code = [0x20, 0, 0x20, 1, 0x6a, 0x21, 2, 0x02, 0x40, 0x03, 0x40, 0x20, 0, 0x20, 2, 0x4f, 0x0d, 1];
  for (let a = 0; a < ACC; a++) {
    // acc_a = f32x4.add(acc_a, v128.load offset=16a (p))
    code.push(0x20, 3 + a, 0x20, 0, 0xfd, 0x00, 4, ...leb(16 * a), 0xfd, 0xe4, 0x01, 0x21, 3 + a);
  }
  code.push(0x20, 0, 0x41, ...[0x80, 0x01], 0x6a, 0x21, 0, 0x0c, 0, 0x0b, 0x0b); // p += 128; br loop
  code.push(0x20, 3);
  for (let a = 1; a < ACC; a++) code.push(0x20, 3 + a, 0xfd, 0xe4, 0x01);
  code.push(0x21, 3);
  code.push(0x20, 3, 0xfd, 0x1f, 0);
  for (let l = 1; l < 4; l++) code.push(0x20, 3, 0xfd, 0x1f, l, 0x92);
  code.push(0x0b);
  const body = [2, 1, 0x7f, ACC, 0x7b, ...code];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, ...leb(pages)]),
    ...section(7, [2, 3, 0x73, 0x75, 0x6d, 0, 0, 3, 0x6d, 0x65, 0x6d, 2, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

/** Plain JS sum with 4 independent accumulators (a separate function so V8 optimises it as a whole). */
function sumScalar(a) {
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  for (let i = 0; i < a.length; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

async function benchBandwidth() {
  const BYTES = 256 * 1024 * 1024;
  const n = BYTES / 4;
  // JS scalar, 8 accumulators
  const a = new Float32Array(n).fill(1);
  const jsRuns = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const t0 = performance.now();
    const total = sumScalar(a);
    const ms = performance.now() - t0;
    if (total !== n) throw new Error('js sum is wrong');
    if (r > 0) jsRuns.push(BYTES / (ms * 1e6));
  }
  // WebAssembly SIMD (v128 loads), one thread
  const pages = BYTES / 65536 + 1;
  const { instance } = await WebAssembly.instantiate(simdSumModule(pages));
  const { sum, mem } = instance.exports;
  new Float32Array(mem.buffer, 0, n).fill(1);
  const wasmRuns = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const t0 = performance.now();
    const s = sum(0, BYTES);
    const ms = performance.now() - t0;
    if (s !== n) throw new Error(`wasm sum is wrong: ${s}`);
    if (r > 0) wasmRuns.push(BYTES / (ms * 1e6));
  }
  return {
    buffer_MB: 256,
    js_scalar_GBps: round(median(jsRuns), 2),
    js_scalar_runs_GBps: jsRuns.map((x) => round(x, 2)),
    wasm_simd_GBps: round(median(wasmRuns), 2),
    wasm_simd_best_GBps: round(Math.max(...wasmRuns), 2),
    wasm_simd_runs_GBps: wasmRuns.map((x) => round(x, 2)),
    note: 'one thread, sequential read of a 256 MB Float32Array already in memory; wasm_simd is the better estimate of the DRAM read bandwidth a kernel can reach from JS',
  };
}

const part = process.argv[2];
if (part === '--part') {
  const [kind, threads] = [process.argv[3], Number(process.argv[4])];
  const result = kind === 'bandwidth' ? await benchBandwidth() : await benchBackend(kind, threads);
  process.stdout.write(JSON.stringify(result));
} else {
  const loadBefore = round(loadavg()[0], 2);
  const threadsList = [...new Set([1, availableParallelism()])];
  const child = (...args) =>
    JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--part', ...args], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      }),
    );
  const results = [];
  for (const threads of threadsList) {
    for (const kind of ['node', 'web']) {
      process.stderr.write(`backend ${kind}, ${threads} thread(s)...\n`);
      results.push(child(kind, String(threads)));
    }
  }
  process.stderr.write('memory bandwidth...\n');
  const bandwidth = child('bandwidth', '1');
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model,
      cores: availableParallelism(),
      memory_GB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    runtimes: { 'onnxruntime-node': '1.30.0', 'onnxruntime-web': '1.30.0' },
    method: `median of ${RUNS} runs; tiny = Add on [1,8] (2000 calls per run); call_200_feeds = 200 [8] inputs summed by 199 Adds (call_1_feed: the same with initializers); state_6MB = y = 0.5 x on 1.6M floats, fresh output vs RunOptions.into; matmul weight [512,8192] f32 bound as initializer (and, *_weight_fed, fed as an input each call)`,
    load_average_1m_before: loadBefore,
    load_average_1m_after: round(loadavg()[0], 2),
    backends: results,
    memory_read_bandwidth: bandwidth,
  };
  const file = join(root, 'bench/results/backends-cpu.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  console.error(`wrote ${file}`);
}
