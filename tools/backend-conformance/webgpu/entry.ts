/**
 * Browser entry of the WebGPU conformance run (bundled by run.mjs): every op case on backend-web with the WebGPU
 * execution provider, plus where onnxruntime placed each node (WebGPU or CPU fallback), posted back as JSON.
 */
import { float16ToFloat32Array, type Tensor } from '@densessm/tensor';
import { createWebBackend } from '../../../packages/backend-web/src/index.js';
import { buildCaseGraph } from '../src/build.js';
import { dtypeCases, opCases } from '../src/cases.js';

interface CaseResult {
  name: string;
  ops: readonly string[];
  ok: boolean;
  /** Providers the session ran on (['wasm'] when backend-web kept a float16 graph off WebGPU). */
  ranOn?: readonly string[];
  maxAbsErr?: number;
  error?: string;
  cpuNodes?: string[];
}

function values(t: Tensor): number[] {
  if (t.dtype === 'float16') return Array.from(float16ToFloat32Array(t.data as Uint16Array));
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

// Capture onnxruntime's verbose log lines about node placement.
const logLines: string[] = [];
for (const level of ['log', 'info', 'warn', 'debug', 'error'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    logLines.push(args.map(String).join(' '));
    original(...args);
  };
}

async function main(): Promise<unknown> {
  const ort = await import('onnxruntime-web');
  const backend = createWebBackend({ executionProviders: ['webgpu', 'wasm'] });
  const providers = await backend.executionProviders;
  const results: CaseResult[] = [];
  for (const c of [...opCases(), ...dtypeCases()]) {
    const { bytes, feeds } = buildCaseGraph(c);
    const result: CaseResult = { name: c.name, ops: c.ops, ok: false };
    try {
      const session = await backend.createSession(bytes, { name: c.name });
      result.ranOn = session.executionProviders;
      const out = await session.run(feeds);
      let maxAbsErr = 0;
      let bad = '';
      c.expected.forEach((e, i) => {
        const a = out[`y${i}`];
        if (a.dtype !== e.dtype || a.dims.join() !== e.dims.join()) {
          bad ||= `y${i}: got ${a.dtype} [${a.dims}], expected ${e.dtype} [${e.dims}]`;
          return;
        }
        const av = values(a);
        const ev = values(e);
        ev.forEach((v, k) => {
          const d = Math.abs(av[k] - v);
          if (Number.isNaN(d)) maxAbsErr = Number.POSITIVE_INFINITY;
          else maxAbsErr = Math.max(maxAbsErr, d);
          const tol = Math.max(c.tol ?? 1e-5, 1e-4) * (1 + Math.abs(v));
          if (!(d <= tol)) bad ||= `y${i}[${k}] = ${av[k]}, expected ${v}`;
        });
      });
      await session.release();
      result.ok = bad === '';
      result.maxAbsErr = maxAbsErr;
      if (bad) result.error = bad;
    } catch (e) {
      result.error = (e as Error).message;
    }
    // placement: a verbose session on the same graph, reading the "nodes placed on" log lines
    logLines.length = 0;
    try {
      ort.env.logLevel = 'verbose';
      const s = await ort.InferenceSession.create(bytes, {
        executionProviders: ['webgpu'],
        logSeverityLevel: 0,
        logVerbosityLevel: 0,
      });
      await s.release();
    } catch {
      // the numeric run already recorded the failure
    } finally {
      ort.env.logLevel = 'warning';
    }
    const cpu = new Set<string>();
    for (const line of logLines) {
      const missing = /kernel not found in registries for Op type: (\S+) node name: (\S+)/.exec(line);
      if (missing) cpu.add(`${missing[1]} (${missing[2]}): no WebGPU kernel`);
      const forced = /Force fallback to CPU execution for node: (\S+)/.exec(line);
      if (forced) cpu.add(`${forced[1]}: placed on CPU (shape computation)`);
    }
    result.cpuNodes = [...cpu];
    results.push(result);
  }
  return { userAgent: navigator.userAgent, providers, results };
}

main()
  .then((r) => fetch('/result', { method: 'POST', body: JSON.stringify(r) }))
  .catch((e) => fetch('/result', { method: 'POST', body: JSON.stringify({ fatal: String(e?.stack ?? e) }) }));
