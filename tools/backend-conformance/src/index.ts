/**
 * The backend conformance suite: call `defineBackendConformance(label, makeBackend)` from a vitest test file and
 * every op the models use, every dtype, symbolic dims and the error paths are checked against plain TypeScript.
 */
import {
  type Backend,
  BackendError,
  float16ToFloat32Array,
  float32,
  GraphBuilder,
  int32,
  int64,
  type Session,
  type Tensor,
} from '@densessm/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCaseGraph } from './build.js';

export { negGraph } from './build.js';

import { coveredOps, dtypeCases, type OpCase, opCases } from './cases.js';
import { arr, matmul, randomArr, toTensor } from './reference.js';

export { type CaseInput, coveredOps, dtypeCases, type OpCase, opCases } from './cases.js';
export * as reference from './reference.js';

export interface ConformanceOptions {
  /**
   * Op cases (by name) this backend is known to fail, with the reason. The suite asserts they still fail, so the
   * list cannot go stale silently; an empty list is the goal.
   */
  knownFailures?: Readonly<Record<string, string>>;
}

/** Builds a graph from an op case: inputs in order, outputs y0..yn with symbolic dims. */
export const buildCase = buildCaseGraph;

function asNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Asserts `actual` equals `expected`: dtype, dims, and values (floats within atol + rtol * |expected|). */
export function expectTensorClose(actual: Tensor, expected: Tensor, tol = 1e-5, label = ''): void {
  expect(actual.dtype, `${label} dtype`).toBe(expected.dtype);
  expect([...actual.dims], `${label} dims`).toEqual([...expected.dims]);
  if (expected.dtype === 'int32' || expected.dtype === 'int64' || expected.dtype === 'float16') {
    // integers exactly; float16 compared as values below only when bits differ
    if (expected.dtype !== 'float16') {
      expect(asNumbers(actual), `${label} values`).toEqual(asNumbers(expected));
      return;
    }
  }
  const a = expected.dtype === 'float16' ? halfValues(actual) : asNumbers(actual);
  const e = expected.dtype === 'float16' ? halfValues(expected) : asNumbers(expected);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < e.length; i++) {
    const diff = Math.abs(a[i] - e[i]);
    const allowed = tol + tol * Math.abs(e[i]);
    const bad = Number.isNaN(a[i]) !== Number.isNaN(e[i]) || diff > allowed;
    if (bad && (worstAt < 0 || diff > worst)) {
      worst = diff;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    throw new Error(
      `${label}: element ${worstAt} is ${a[worstAt]}, expected ${e[worstAt]} (|diff| ${worst} > tol ${tol})`,
    );
  }
}

function halfValues(t: Tensor): number[] {
  return Array.from(float16ToFloat32Array(t.data as Uint16Array));
}

async function runCase(backend: Backend, c: OpCase): Promise<void> {
  const { bytes, feeds } = buildCase(c);
  const session = await backend.createSession(bytes, { name: c.name });
  try {
    const result = await session.run(feeds);
    c.expected.forEach((e, i) => {
      expectTensorClose(result[`y${i}`], e, c.tol ?? 1e-5, `${c.name} y${i}`);
    });
  } finally {
    await session.release();
  }
}

async function expectBackendError(
  p: Promise<unknown>,
  code: string,
  ...fragments: string[]
): Promise<BackendError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected BackendError ${code}`).toBeInstanceOf(BackendError);
  const err = caught as BackendError;
  expect(err.code).toBe(code);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

/**
 * Registers the whole suite under `describe(label)`. `makeBackend` is called once; sessions are released after
 * each case.
 */
export function defineBackendConformance(
  label: string,
  makeBackend: () => Backend | Promise<Backend>,
  options: ConformanceOptions = {},
): void {
  const known = options.knownFailures ?? {};
  describe(`backend conformance: ${label}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await makeBackend();
    });

    const register = (cases: readonly OpCase[]) => {
      for (const c of cases) {
        const reason = known[c.name];
        if (reason) {
          it(`${c.name} (known failure: ${reason})`, async () => {
            await expect(runCase(backend, c)).rejects.toThrow();
          });
        } else {
          it(c.name, () => runCase(backend, c));
        }
      }
    };
    describe('ops', () => register(opCases()));
    describe('dtypes', () => register(dtypeCases()));

    describe('symbolic dims', () => {
      let session: Session;
      const w = randomArr([8, 6], 99);
      beforeAll(async () => {
        const g = new GraphBuilder('symbolic');
        const x = g.input('x', 'float32', ['batch', 'seq', 8]);
        const ids = g.input('ids', 'int64', ['batch', 'seq']);
        const y = g.op('MatMul', [x, g.initializer('w', toTensor(w))]);
        const idf = g.op('Unsqueeze', [g.op('Cast', [ids], { to: 1 }), g.constant(int64([1], [-1]))]);
        g.output(g.op('Add', [y, idf]), 'y', 'float32', ['batch', 'seq', 6]);
        g.output(g.op('Shape', [x]), 'shape', 'int64', [3]);
        session = await backend.createSession(g.toBytes(), { name: 'symbolic' });
      });
      afterAll(async () => {
        await session?.release();
      });

      it('reports input and output names', () => {
        expect([...session.inputNames]).toEqual(['x', 'ids']);
        expect([...session.outputNames].sort()).toEqual(['shape', 'y']);
      });

      for (const [batch, seq] of [
        [1, 1],
        [2, 5],
        [3, 7],
        [1, 33],
      ]) {
        it(`one session runs batch ${batch} x seq ${seq}`, async () => {
          const x = randomArr([batch, seq, 8], batch * 100 + seq);
          const ids = Array.from({ length: batch * seq }, (_, i) => i % 5);
          const r = await session.run({ x: toTensor(x), ids: int64([batch, seq], ids) });
          const ref = matmul(x, w);
          const expected = arr(
            [batch, seq, 6],
            ref.data.map((v, i) => v + ids[Math.floor(i / 6)]),
          );
          expectTensorClose(r.y, toTensor(expected), 1e-5, 'y');
          expect(Array.from(r.shape.data as BigInt64Array)).toEqual([BigInt(batch), BigInt(seq), 8n]);
        });
      }

      it('returns only the requested outputs', async () => {
        const r = await session.run({ x: float32([1, 2, 8]), ids: int64([1, 2]) }, ['shape']);
        expect(Object.keys(r)).toEqual(['shape']);
      });

      it('writes outputs into caller-owned tensors (RunOptions.into) and returns those tensors', async () => {
        const x = randomArr([2, 3, 8], 321);
        const into = float32([2, 3, 6]);
        const stale = into.data;
        for (let round = 0; round < 2; round++) {
          const r = await session.run({ x: toTensor(x), ids: int64([2, 3]) }, ['y', 'shape'], {
            into: { y: into },
          });
          expect(r.y).toBe(into);
          expect(r.y.data).toBe(stale);
          expectTensorClose(into, toTensor(matmul(x, w)), 1e-5, 'into');
          expect(Array.from(r.shape.data as BigInt64Array)).toEqual([2n, 3n, 8n]);
        }
      });

      it('rejects an into tensor of the wrong shape, not requested, or aliasing a feed', async () => {
        const feeds = { x: float32([1, 2, 8]), ids: int64([1, 2]) };
        await expectBackendError(
          session.run(feeds, ['y'], { into: { y: float32([1, 3, 6]) } }),
          'BAD_OUTPUT',
          'y',
        );
        await expectBackendError(
          session.run(feeds, ['y'], { into: { shape: int64([3]) } }),
          'UNKNOWN_OUTPUT',
          "'shape'",
        );
        const shared = new Float32Array(16 + 12);
        const aliased = {
          x: { dtype: 'float32', dims: [1, 2, 8], data: shared.subarray(0, 16) } as Tensor,
          ids: int64([1, 2]),
        };
        const out = { dtype: 'float32', dims: [1, 2, 6], data: shared.subarray(16) } as Tensor;
        await expectBackendError(session.run(aliased, ['y'], { into: { y: out } }), 'BAD_OUTPUT', "'x'");
      });

      it('serves concurrent runs on one session with correct results', async () => {
        const runs = Array.from({ length: 8 }, (_, k) => {
          const x = randomArr([1, k + 1, 8], 500 + k);
          return session.run({ x: toTensor(x), ids: int64([1, k + 1]) }).then((r) => {
            expectTensorClose(r.y, toTensor(matmul(x, w)), 1e-5, `run ${k}`);
          });
        });
        await Promise.all(runs);
      });
    });

    describe('errors', () => {
      let session: Session;
      beforeAll(async () => {
        const g = new GraphBuilder('errors');
        const a = g.input('a', 'float32', ['n', 4]);
        const b = g.input('b', 'int32', ['n']);
        const shape = g.input('shape', 'int64', [2]);
        g.output(g.op('Reshape', [a, shape]), 'reshaped', 'float32', ['r0', 'r1']);
        g.output(g.op('Cast', [b], { to: 1 }), 'bf', 'float32', ['n']);
        g.output(g.op('Greater', [b, g.constant(int32([], [0]))]), 'flag', 'bool', ['n']);
        session = await backend.createSession(g.toBytes(), { name: 'errs' });
      });
      afterAll(async () => {
        await session?.release();
      });
      const good = () => ({ a: float32([2, 4]), b: int32([2], [1, -1]), shape: int64([2], [4, 2]) });

      it('runs with good feeds', async () => {
        const r = await session.run(good(), ['reshaped', 'bf']);
        expect(r.reshaped.dims).toEqual([4, 2]);
        expect(Array.from(r.bf.data as Float32Array)).toEqual([1, -1]);
      });

      it('rejects invalid model bytes with INVALID_MODEL naming the session', async () => {
        await expectBackendError(
          backend.createSession(new Uint8Array([8, 1, 2, 3, 99]), { name: 'garbage' }),
          'INVALID_MODEL',
          "'garbage'",
        );
        const g = new GraphBuilder('unknown-op');
        g.output(g.op('NoSuchOpXyz', [g.input('a', 'float32', [1])]), 'y', 'float32', [1]);
        await expectBackendError(
          backend.createSession(g.toBytes(), { name: 'badop' }),
          'INVALID_MODEL',
          "'badop'",
        );
      });

      it('rejects a missing feed with MISSING_FEED', async () => {
        const { a, b } = good();
        const e = await expectBackendError(session.run({ a, b }), 'MISSING_FEED', "'errs'", "'shape'");
        expect(e.session).toBe('errs');
      });

      it('rejects an unknown feed with UNKNOWN_FEED', async () => {
        await expectBackendError(session.run({ ...good(), extra: float32([1]) }), 'UNKNOWN_FEED', "'extra'");
      });

      it('rejects a wrong dtype with BAD_FEED', async () => {
        await expectBackendError(
          session.run({ ...good(), b: float32([2]) }),
          'BAD_FEED',
          "'b'",
          'int32',
          'float32',
        );
      });

      it('rejects a wrong rank or fixed dim with BAD_FEED', async () => {
        await expectBackendError(session.run({ ...good(), a: float32([8]) }), 'BAD_FEED', "'a'", 'rank');
        await expectBackendError(
          session.run({ ...good(), a: float32([2, 5]) }),
          'BAD_FEED',
          "'a'",
          'dim 1',
          'must be 4',
        );
      });

      it('rejects inconsistent symbolic dims with BAD_FEED', async () => {
        await expectBackendError(session.run({ ...good(), b: int32([3]) }), 'BAD_FEED', "'n'");
      });

      it('rejects data that does not match dims with BAD_FEED', async () => {
        const bad = { dtype: 'float32', dims: [2, 4], data: new Float32Array(7) } as Tensor;
        await expectBackendError(session.run({ ...good(), a: bad }), 'BAD_FEED', '7');
      });

      it('reports a runtime failure as RUN_FAILED with the session name and the runtime message', async () => {
        await expectBackendError(
          session.run({ ...good(), shape: int64([2], [3, 3]) }),
          'RUN_FAILED',
          "'errs'",
        );
      });

      it('rejects an unknown output name with UNKNOWN_OUTPUT', async () => {
        await expectBackendError(session.run(good(), ['nope']), 'UNKNOWN_OUTPUT', "'nope'");
      });

      it('refuses a bool output with UNSUPPORTED_DTYPE (engine tensors have no bool)', async () => {
        await expectBackendError(session.run(good(), ['flag']), 'UNSUPPORTED_DTYPE', "'flag'", 'Cast');
      });

      it('refuses to run a released session with SESSION_RELEASED', async () => {
        const g = new GraphBuilder('tiny');
        g.output(g.op('Neg', [g.input('a', 'float32', [1])]), 'y', 'float32', [1]);
        const s = await backend.createSession(g.toBytes(), { name: 'gone' });
        expect(Array.from((await s.run({ a: float32([1], [2]) })).y.data as Float32Array)).toEqual([-2]);
        await s.release();
        await expectBackendError(s.run({ a: float32([1], [2]) }), 'SESSION_RELEASED', "'gone'");
      });
    });
  });
}

/** The ops the conformance suite vouches for (on every backend that passes it without known failures). */
export const CONFORMANCE_OPS: readonly string[] = coveredOps();
