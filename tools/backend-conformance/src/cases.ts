/**
 * Op cases: each builds a small graph with GraphBuilder and states the exact expected outputs, computed in plain
 * TypeScript (reference.ts). Inputs are graph inputs (fed at run time) unless marked `constant`.
 */
import {
  type DType,
  float16ToFloat32Array,
  floatAttr,
  type GraphBuilder,
  int64,
  type Tensor,
  type Value,
} from '@densessm/tensor';
import {
  type Arr,
  arr,
  coords,
  flatIndex,
  map,
  matmul,
  randomArr,
  reduce,
  size,
  toTensor,
  transpose,
  zip,
} from './reference.js';

export interface CaseInput {
  readonly tensor: Tensor;
  /** Bind as an initializer instead of a graph input. */
  readonly constant?: boolean;
  /** Declared dims (default: the tensor's own dims); strings are symbolic. */
  readonly declared?: readonly (number | string)[];
}

export interface OpCase {
  readonly name: string;
  /** ONNX op types this case exercises (for the coverage list). */
  readonly ops: readonly string[];
  readonly inputs: readonly CaseInput[];
  build(g: GraphBuilder, inputs: readonly Value[]): Value | readonly Value[];
  readonly expected: readonly Tensor[];
  /** Absolute + relative tolerance for float outputs (default 1e-5). */
  readonly tol?: number;
}

const inp = (a: Arr, dtype: DType = 'float32'): CaseInput => ({ tensor: toTensor(a, dtype) });
const cst = (t: Tensor): CaseInput => ({ tensor: t, constant: true });
const out = (a: Arr, dtype: DType = 'float32'): Tensor => toTensor(a, dtype);
const i64 = (dims: number[], v: (number | bigint)[]) => int64(dims, v);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function unary(op: string, f: (x: number) => number, lo = -3, hi = 3, tol = 2e-6): OpCase {
  const x = randomArr([2, 3, 4], op.length * 7 + 1, lo, hi);
  return {
    name: op,
    ops: [op],
    inputs: [inp(x)],
    build: (g, [a]) => g.op(op, [a]),
    expected: [out(map(x, f))],
    tol,
  };
}

function binary(
  op: string,
  f: (a: number, b: number) => number,
  bDims: number[],
  dtype: DType = 'float32',
  lo = -2,
  hi = 2,
): OpCase {
  const ints = dtype === 'int32' || dtype === 'int64';
  let a = randomArr([2, 3, 4], op.length * 11 + 3, lo, hi);
  let b = randomArr(bDims, op.length * 13 + 5, lo, hi);
  if (ints) {
    a = map(a, (v) => Math.trunc(v * 50));
    b = map(b, (v) => Math.trunc(v * 50) || 7);
  }
  return {
    name: `${op} ${dtype} [2,3,4] with [${bDims}]`,
    ops: [op],
    inputs: [inp(a, dtype), inp(b, dtype)],
    build: (g, [x, y]) => g.op(op, [x, y]),
    expected: [out(zip([a, b], f), dtype)],
  };
}

function softmax(x: Arr, axis: number): Arr {
  const rank = x.dims.length;
  const ax = (axis + rank) % rank;
  const mx = reduce(x, [ax], true, Number.NEGATIVE_INFINITY, Math.max);
  const e = zip([x, mx], (v, m) => Math.exp(v - m));
  const s = reduce(e, [ax], true, 0, (acc, v) => acc + v);
  return zip([e, s], (v, t) => v / t);
}

function cumsum(x: Arr, axis: number, exclusive: boolean, reverse: boolean): Arr {
  const data = new Array<number>(x.data.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    const c = coords(x.dims, i);
    let s = 0;
    for (let j = 0; j < x.dims[axis]; j++) {
      const inRange = reverse
        ? exclusive
          ? j > c[axis]
          : j >= c[axis]
        : exclusive
          ? j < c[axis]
          : j <= c[axis];
      if (!inRange) continue;
      const cc = [...c];
      cc[axis] = j;
      s += x.data[flatIndex(x.dims, cc)];
    }
    data[i] = s;
  }
  return { dims: x.dims, data };
}

function trilu(x: Arr, upper: boolean, k: number): Arr {
  const [r, c] = x.dims.slice(-2);
  return {
    dims: x.dims,
    data: x.data.map((v, i) => {
      const row = Math.floor(i / c) % r;
      const col = i % c;
      return (upper ? col - row >= k : col - row <= k) ? v : 0;
    }),
  };
}

function sliceRef(x: Arr, starts: number[], ends: number[], axes: number[], steps: number[]): Arr {
  const ranges = x.dims.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((axis, j) => {
    const d = x.dims[axis];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const step = steps[j];
    let s = starts[j] < 0 ? starts[j] + d : starts[j];
    let e = ends[j] < 0 ? ends[j] + d : ends[j];
    const idx: number[] = [];
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      for (let i = s; i < e; i += step) idx.push(i);
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      for (let i = s; i > e; i += step) idx.push(i);
    }
    ranges[axis] = idx;
  });
  const dims = ranges.map((r) => r.length);
  const data = new Array<number>(size(dims));
  for (let i = 0; i < data.length; i++) {
    const c = coords(dims, i);
    data[i] =
      x.data[
        flatIndex(
          x.dims,
          c.map((v, a) => ranges[a][v]),
        )
      ];
  }
  return { dims, data };
}

const INT64_MAX = 9223372036854775807n;

export function opCases(): OpCase[] {
  const cases: OpCase[] = [];

  // ---- MatMul / Gemm
  const mm = (aDims: number[], bDims: number[], seed: number, constantB = false): OpCase => {
    const a = randomArr(aDims, seed);
    const b = randomArr(bDims, seed + 1);
    return {
      name: `MatMul [${aDims}] x [${bDims}]${constantB ? ' (weight initializer)' : ''}`,
      ops: ['MatMul'],
      inputs: [inp(a), constantB ? cst(toTensor(b)) : inp(b)],
      build: (g, [x, y]) => g.op('MatMul', [x, y]),
      expected: [out(matmul(a, b))],
      tol: 1e-5,
    };
  };
  cases.push(mm([3, 4], [4, 5], 1), mm([1, 64], [64, 96], 2, true), mm([2, 3, 4], [2, 4, 5], 3));
  cases.push(
    mm([2, 2, 3, 8], [2, 2, 8, 5], 4),
    mm([2, 1, 3, 4], [3, 4, 2], 5),
    mm([2, 3, 4], [4, 6], 6, true),
  );
  {
    const a = randomArr([3, 4], 21);
    const b = randomArr([5, 4], 22);
    const c = randomArr([5], 23);
    const ref = zip([matmul(a, transpose(b, [1, 0])), c], (x, y) => 0.5 * x + 2 * y);
    cases.push({
      name: 'Gemm transB alpha beta with bias',
      ops: ['Gemm'],
      inputs: [inp(a), cst(toTensor(b)), cst(toTensor(c))],
      build: (g, [x, w, bias]) =>
        g.op('Gemm', [x, w, bias], { transB: 1, alpha: floatAttr(0.5), beta: floatAttr(2) }),
      expected: [out(ref)],
    });
  }

  // ---- Gather family
  {
    const table = randomArr([5, 4], 31);
    const idx = [0, 4, -1, 2, 2, 1];
    const ref = arr(
      [2, 3, 4],
      idx.flatMap((i) => table.data.slice(((i + 5) % 5) * 4, ((i + 5) % 5) * 4 + 4)),
    );
    cases.push({
      name: 'Gather axis 0 int64 indices (incl. negative)',
      ops: ['Gather'],
      inputs: [cst(toTensor(table)), { tensor: i64([2, 3], idx) }],
      build: (g, [t, i]) => g.op('Gather', [t, i], { axis: 0 }),
      expected: [out(ref)],
    });
    cases.push({
      name: 'Gather axis 0 int32 indices',
      ops: ['Gather'],
      inputs: [cst(toTensor(table)), { tensor: toTensor(arr([3], [3, 0, 4]), 'int32') }],
      build: (g, [t, i]) => g.op('Gather', [t, i], { axis: 0 }),
      expected: [
        out(
          arr(
            [3, 4],
            [3, 0, 4].flatMap((i) => table.data.slice(i * 4, i * 4 + 4)),
          ),
        ),
      ],
    });
    cases.push({
      name: 'Gather axis 1 scalar index',
      ops: ['Gather'],
      inputs: [inp(table), cst(i64([], [2]))],
      build: (g, [t, i]) => g.op('Gather', [t, i], { axis: 1 }),
      expected: [
        out(
          arr(
            [5],
            [0, 1, 2, 3, 4].map((r) => table.data[r * 4 + 2]),
          ),
        ),
      ],
    });
  }
  {
    const x = randomArr([3, 4], 41);
    const idx = arr([3, 2], [3, 0, 1, 1, 0, 2]);
    cases.push({
      name: 'GatherElements axis 1',
      ops: ['GatherElements'],
      inputs: [inp(x), { tensor: toTensor(idx, 'int64') }],
      build: (g, [a, i]) => g.op('GatherElements', [a, i], { axis: 1 }),
      expected: [
        out(
          arr(
            [3, 2],
            idx.data.map((v, k) => x.data[Math.floor(k / 2) * 4 + v]),
          ),
        ),
      ],
    });
    const y = randomArr([2, 3, 4], 42);
    cases.push({
      name: 'GatherND batch_dims 0',
      ops: ['GatherND'],
      inputs: [inp(y), cst(i64([2, 2], [1, 2, 0, 1]))],
      build: (g, [a, i]) => g.op('GatherND', [a, i]),
      expected: [out(arr([2, 4], [...y.data.slice(20, 24), ...y.data.slice(4, 8)]))],
    });
    cases.push({
      name: 'GatherND batch_dims 1',
      ops: ['GatherND'],
      inputs: [inp(y), cst(i64([2, 1], [2, 0]))],
      build: (g, [a, i]) => g.op('GatherND', [a, i], { batch_dims: 1 }),
      expected: [out(arr([2, 4], [...y.data.slice(8, 12), ...y.data.slice(12, 16)]))],
    });
  }
  {
    const data = randomArr([4, 3], 51);
    const upd = randomArr([2, 3], 52);
    const ref = [...data.data];
    [1, 3].forEach((row, j) => {
      for (let c = 0; c < 3; c++) ref[row * 3 + c] = upd.data[j * 3 + c];
    });
    cases.push({
      name: 'ScatterND rows',
      ops: ['ScatterND'],
      inputs: [inp(data), cst(i64([2, 1], [1, 3])), inp(upd)],
      build: (g, [d, i, u]) => g.op('ScatterND', [d, i, u]),
      expected: [out(arr([4, 3], ref))],
    });
    const ref2 = [...data.data];
    ref2[0 * 3 + 2] = 10;
    ref2[2 * 3 + 1] = -20;
    cases.push({
      name: 'ScatterND elements',
      ops: ['ScatterND'],
      inputs: [inp(data), cst(i64([2, 2], [0, 2, 2, 1])), inp(arr([2], [10, -20]))],
      build: (g, [d, i, u]) => g.op('ScatterND', [d, i, u]),
      expected: [out(arr([4, 3], ref2))],
    });
  }

  // ---- elementwise binary (with broadcasting), all dtypes that models use
  cases.push(
    binary('Add', (a, b) => a + b, [4]),
    binary('Add', (a, b) => a + b, [3, 1]),
  );
  cases.push(
    binary('Sub', (a, b) => a - b, [2, 1, 4]),
    binary('Mul', (a, b) => a * b, [1]),
  );
  cases.push(binary('Div', (a, b) => a / b, [3, 4], 'float32', 0.5, 2));
  cases.push(
    binary('Add', (a, b) => a + b, [4], 'int32'),
    binary('Mul', (a, b) => a * b, [3, 1], 'int32'),
  );
  cases.push(
    binary('Add', (a, b) => a + b, [4], 'int64'),
    binary('Sub', (a, b) => a - b, [1], 'int64'),
  );
  cases.push(
    binary('Mul', (a, b) => a * b, [3, 1], 'int64'),
    binary('Div', (a, b) => Math.trunc(a / b), [4], 'int64'),
  );
  cases.push(
    binary('Max', Math.max, [4]),
    binary('Min', Math.min, [3, 1]),
    binary('Max', Math.max, [1], 'int64'),
  );
  cases.push(binary('Pow', (a, b) => a ** b, [4], 'float32', 0.5, 2));
  {
    const a = randomArr([3, 4], 61);
    const b = randomArr([4], 62);
    const c = randomArr([3, 1], 63);
    cases.push({
      name: 'Max and Min variadic (3 inputs, broadcast)',
      ops: ['Max', 'Min'],
      inputs: [inp(a), inp(b), inp(c)],
      build: (g, [x, y, z]) => [g.op('Max', [x, y, z]), g.op('Min', [x, y, z])],
      expected: [out(zip([a, b, c], Math.max)), out(zip([a, b, c], Math.min))],
    });
    const x = randomArr([2, 3], 64, 0.1, 3);
    cases.push({
      name: 'Pow with scalar constant exponent 2',
      ops: ['Pow'],
      inputs: [inp(x), cst(toTensor(arr([], [2])))],
      build: (g, [v, e]) => g.op('Pow', [v, e]),
      expected: [out(map(x, (v) => v * v))],
    });
  }

  // ---- unary
  cases.push(
    unary('Neg', (x) => -x),
    unary('Abs', Math.abs),
    unary('Sigmoid', sigmoid),
    unary('Exp', Math.exp, -3, 3, 1e-5),
  );
  cases.push(
    unary('Log', Math.log, 0.05, 5),
    unary('Sqrt', Math.sqrt, 0, 9),
    unary('Reciprocal', (x) => 1 / x, 0.2, 4),
  );
  cases.push(unary('Tanh', Math.tanh), unary('Sin', Math.sin), unary('Cos', Math.cos));
  cases.push(unary('Softplus', (x) => Math.log1p(Math.exp(x)), -30, 30, 1e-5));
  {
    const x = arr([6], [-40, -5, 0, 5, 25, 80]);
    const sp = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
    cases.push({
      name: 'softplus lowering: Where(x > 20, x, Log(1 + Exp(x))) (WebGPU-safe)',
      ops: ['Greater', 'Where', 'Exp', 'Add', 'Log'],
      inputs: [inp(x)],
      build: (g, [v]) => {
        const one = g.constant(toTensor(arr([], [1])));
        const twenty = g.constant(toTensor(arr([], [20])));
        const soft = g.op('Log', [g.op('Add', [g.op('Exp', [v]), one])]);
        return g.op('Where', [g.op('Greater', [v, twenty]), v, soft]);
      },
      expected: [out(map(x, sp))],
    });
  }

  // ---- reductions (opset 17: ReduceSum takes axes as an input, ReduceMean/ReduceMax as an attribute)
  {
    const x = randomArr([2, 3, 4], 71);
    const sum = (a: number, b: number) => a + b;
    cases.push({
      name: 'ReduceSum axes input keepdims 1',
      ops: ['ReduceSum'],
      inputs: [inp(x), cst(i64([1], [1]))],
      build: (g, [v, ax]) => g.op('ReduceSum', [v, ax], { keepdims: 1 }),
      expected: [out(reduce(x, [1], true, 0, sum))],
    });
    cases.push({
      name: 'ReduceSum axes [-1, 0] keepdims 0',
      ops: ['ReduceSum'],
      inputs: [inp(x), cst(i64([2], [-1, 0]))],
      build: (g, [v, ax]) => g.op('ReduceSum', [v, ax], { keepdims: 0 }),
      expected: [out(reduce(x, [-1, 0], false, 0, sum))],
    });
    cases.push({
      name: 'ReduceSum no axes = all',
      ops: ['ReduceSum'],
      inputs: [inp(x)],
      build: (g, [v]) => g.op('ReduceSum', [v], { keepdims: 0 }),
      expected: [out(reduce(x, [], false, 0, sum))],
    });
    cases.push({
      name: 'ReduceMean axes attr [-1] keepdims 1',
      ops: ['ReduceMean'],
      inputs: [inp(x)],
      build: (g, [v]) => g.op('ReduceMean', [v], { axes: [-1], keepdims: 1 }),
      expected: [out(reduce(x, [-1], true, 0, sum, (s, n) => s / n))],
    });
    cases.push({
      name: 'ReduceMax axes attr [0, 2] keepdims 0',
      ops: ['ReduceMax'],
      inputs: [inp(x)],
      build: (g, [v]) => g.op('ReduceMax', [v], { axes: [0, 2], keepdims: 0 }),
      expected: [out(reduce(x, [0, 2], false, Number.NEGATIVE_INFINITY, Math.max))],
    });
    cases.push({
      name: 'Softmax axis -1',
      ops: ['Softmax'],
      inputs: [inp(x)],
      build: (g, [v]) => g.op('Softmax', [v], { axis: -1 }),
      expected: [out(softmax(x, -1))],
    });
    cases.push({
      name: 'Softmax axis 1',
      ops: ['Softmax'],
      inputs: [inp(x)],
      build: (g, [v]) => g.op('Softmax', [v], { axis: 1 }),
      expected: [out(softmax(x, 1))],
    });
  }

  // ---- CumSum
  {
    const x = randomArr([3, 5], 81);
    for (const [exclusive, reverse] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ]) {
      cases.push({
        name: `CumSum axis 1 exclusive=${exclusive} reverse=${reverse}`,
        ops: ['CumSum'],
        inputs: [inp(x), cst(i64([], [1]))],
        build: (g, [v, ax]) => g.op('CumSum', [v, ax], { exclusive, reverse }),
        expected: [out(cumsum(x, 1, exclusive === 1, reverse === 1))],
        tol: 1e-5,
      });
    }
    for (const exclusive of [0, 1]) {
      cases.push({
        name: `CumSum reverse lowering (exclusive=${exclusive}): ReduceSum - forward CumSum (WebGPU-safe)`,
        ops: ['CumSum', 'ReduceSum', 'Sub'],
        inputs: [inp(x), cst(i64([], [1])), cst(i64([1], [1]))],
        build: (g, [v, ax, axes]) =>
          g.op('Sub', [
            g.op('ReduceSum', [v, axes], { keepdims: 1 }),
            g.op('CumSum', [v, ax], { exclusive: 1 - exclusive }),
          ]),
        expected: [out(cumsum(x, 1, exclusive === 1, true))],
        tol: 1e-5,
      });
    }
    cases.push({
      name: 'CumSum axis 0 int32 axis, int64 data',
      ops: ['CumSum'],
      inputs: [
        inp(
          map(x, (v) => Math.trunc(v * 100)),
          'int64',
        ),
        cst(toTensor(arr([], [0]), 'int32')),
      ],
      build: (g, [v, ax]) => g.op('CumSum', [v, ax]),
      expected: [
        out(
          cumsum(
            map(x, (v) => Math.trunc(v * 100)),
            0,
            false,
            false,
          ),
          'int64',
        ),
      ],
    });
  }

  // ---- shape manipulation
  {
    const x = randomArr([2, 3, 4], 91);
    cases.push({
      name: 'Reshape [0, -1]',
      ops: ['Reshape'],
      inputs: [inp(x), cst(i64([2], [0, -1]))],
      build: (g, [v, s]) => g.op('Reshape', [v, s]),
      expected: [out(arr([2, 12], x.data))],
    });
    cases.push({
      name: 'Reshape explicit [4, 6]',
      ops: ['Reshape'],
      inputs: [inp(x), cst(i64([2], [4, 6]))],
      build: (g, [v, s]) => g.op('Reshape', [v, s]),
      expected: [out(arr([4, 6], x.data))],
    });
    cases.push({
      name: 'Transpose perm [1, 0, 2]',
      ops: ['Transpose'],
      inputs: [inp(x)],
      build: (g, [v]) => g.op('Transpose', [v], { perm: [1, 0, 2] }),
      expected: [out(transpose(x, [1, 0, 2]))],
    });
    const y = randomArr([2, 3, 4, 5], 92);
    cases.push({
      name: 'Transpose 4D perm [0, 2, 3, 1]',
      ops: ['Transpose'],
      inputs: [inp(y)],
      build: (g, [v]) => g.op('Transpose', [v], { perm: [0, 2, 3, 1] }),
      expected: [out(transpose(y, [0, 2, 3, 1]))],
    });
    cases.push({
      name: 'Unsqueeze axes [0, -1] then Squeeze axes [0]',
      ops: ['Unsqueeze', 'Squeeze'],
      inputs: [inp(x), cst(i64([2], [0, -1])), cst(i64([1], [0]))],
      build: (g, [v, ua, sa]) => {
        const u = g.op('Unsqueeze', [v, ua]);
        return [u, g.op('Squeeze', [u, sa])];
      },
      expected: [out(arr([1, 2, 3, 4, 1], x.data)), out(arr([2, 3, 4, 1], x.data))],
    });
    const a = randomArr([2, 1, 4], 93);
    const b = randomArr([2, 2, 4], 94);
    const catRef = arr(
      [2, 3, 4],
      [...a.data.slice(0, 4), ...b.data.slice(0, 8), ...a.data.slice(4, 8), ...b.data.slice(8, 16)],
    );
    cases.push({
      name: 'Concat axis 1',
      ops: ['Concat'],
      inputs: [inp(a), inp(b)],
      build: (g, [p, q]) => g.op('Concat', [p, q], { axis: 1 }),
      expected: [out(catRef)],
    });
    cases.push({
      name: 'Concat axis -1 of three',
      ops: ['Concat'],
      inputs: [inp(arr([2, 1], [1, 2])), inp(arr([2, 2], [3, 4, 5, 6])), inp(arr([2, 1], [7, 8]))],
      build: (g, [p, q, r]) => g.op('Concat', [p, q, r], { axis: -1 }),
      expected: [out(arr([2, 4], [1, 3, 4, 7, 2, 5, 6, 8]))],
    });
    const sl = (starts: number[], ends: (number | bigint)[], axes: number[], steps: number[]): OpCase => ({
      name: `Slice starts [${starts}] ends [${ends}] axes [${axes}] steps [${steps}]`,
      ops: ['Slice'],
      inputs: [
        inp(y),
        cst(i64([starts.length], starts)),
        cst(i64([ends.length], ends)),
        cst(i64([axes.length], axes)),
        cst(i64([steps.length], steps)),
      ],
      build: (g, [v, s, e, ax, st]) => g.op('Slice', [v, s, e, ax, st]),
      expected: [
        out(
          sliceRef(
            y,
            starts,
            ends.map((v) => (typeof v === 'bigint' ? Number.MAX_SAFE_INTEGER : v)),
            axes.map((v) => (v + 4) % 4),
            steps,
          ),
        ),
      ],
    });
    cases.push(
      sl([1, 0], [3, -1], [1, 3], [1, 1]),
      sl([-1], [INT64_MAX], [-1], [1]),
      sl([3], [0], [2], [-1]),
      sl([0], [5], [3], [2]),
    );
    cases.push({
      name: 'Slice with runtime starts/ends (int64 inputs)',
      ops: ['Slice'],
      inputs: [inp(x), { tensor: i64([1], [1]) }, { tensor: i64([1], [3]) }, cst(i64([1], [2]))],
      build: (g, [v, s, e, ax]) => g.op('Slice', [v, s, e, ax]),
      expected: [out(sliceRef(x, [1], [3], [2], [1]))],
    });
    cases.push({
      name: 'Split axis 1 with split input [1, 2]',
      ops: ['Split'],
      inputs: [inp(x), cst(i64([2], [1, 2]))],
      build: (g, [v, s]) => g.opN('Split', [v, s], 2, { axis: 1 }),
      expected: [out(sliceRef(x, [0], [1], [1], [1])), out(sliceRef(x, [1], [3], [1], [1]))],
    });
    cases.push({
      name: 'Split last axis equally into 2',
      ops: ['Split'],
      inputs: [inp(x)],
      build: (g, [v]) => g.opN('Split', [v], 2, { axis: -1 }),
      expected: [out(sliceRef(x, [0], [2], [2], [1])), out(sliceRef(x, [2], [4], [2], [1]))],
    });
    const e = randomArr([3, 1], 95);
    cases.push({
      name: 'Expand [3,1] to [2,3,4]',
      ops: ['Expand'],
      inputs: [inp(e), cst(i64([3], [2, 3, 4]))],
      build: (g, [v, s]) => g.op('Expand', [v, s]),
      expected: [out(zip([e, arr([2, 3, 4], new Array(24).fill(0))], (p) => p))],
    });
    const t = randomArr([1, 2, 2], 96);
    const tiled: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let r = 0; r < 2; r++) for (let k = 0; k < 3; k++) tiled.push(...t.data.slice(r * 2, r * 2 + 2));
    cases.push({
      name: 'Tile repeats [2, 1, 3]',
      ops: ['Tile'],
      inputs: [inp(t), cst(i64([3], [2, 1, 3]))],
      build: (g, [v, r]) => g.op('Tile', [v, r]),
      expected: [out(arr([2, 2, 6], tiled))],
    });
  }

  // ---- comparisons, Where, Cast
  {
    const a = arr([2, 3], [1, 2, 3, -1, 5, 0]);
    const b = arr([3], [1, 3, 0]);
    const cmp = (op: string, f: (x: number, y: number) => boolean, dtype: DType): OpCase => ({
      name: `${op} ${dtype} (bool cast to int32)`,
      ops: [op, 'Cast'],
      inputs: [inp(a, dtype), inp(b, dtype)],
      build: (g, [x, y]) => g.op('Cast', [g.op(op, [x, y])], { to: 6 }),
      expected: [
        out(
          zip([a, b], (x, y) => (f(x, y) ? 1 : 0)),
          'int32',
        ),
      ],
    });
    cases.push(
      cmp('Equal', (x, y) => x === y, 'float32'),
      cmp('Equal', (x, y) => x === y, 'int64'),
    );
    cases.push(
      cmp('Less', (x, y) => x < y, 'float32'),
      cmp('Greater', (x, y) => x > y, 'int32'),
      cmp('Greater', (x, y) => x > y, 'int64'),
    );
    const x = randomArr([2, 3], 101);
    const y = randomArr([3], 102);
    cases.push({
      name: 'Where(x > y, x, y*2) broadcast',
      ops: ['Where', 'Greater'],
      inputs: [inp(x), inp(y)],
      build: (g, [p, q]) =>
        g.op('Where', [g.op('Greater', [p, q]), p, g.op('Mul', [q, g.constant(toTensor(arr([], [2])))])]),
      expected: [out(zip([x, y], (p, q) => (p > q ? p : 2 * q)))],
    });
    const f = arr([6], [-2.7, -0.5, 0, 0.5, 2.7, 1000.25]);
    cases.push({
      name: 'Cast float32 -> int32 / int64 (truncates toward zero)',
      ops: ['Cast'],
      inputs: [inp(f)],
      build: (g, [v]) => [g.op('Cast', [v], { to: 6 }), g.op('Cast', [v], { to: 7 })],
      expected: [out(f, 'int32'), out(f, 'int64')],
    });
    const h = arr([5], [1, -2.5, 0.1, 65504, 1e-6]);
    cases.push({
      name: 'Cast float32 <-> float16 round trip',
      ops: ['Cast'],
      inputs: [inp(h)],
      build: (g, [v]) => {
        const half = g.op('Cast', [v], { to: 10 });
        return [half, g.op('Cast', [half], { to: 1 })];
      },
      expected: [out(h, 'float16'), out(map(h, halfRound))],
    });
    const n = arr([4], [-3, 0, 7, 2 ** 31 - 1]);
    cases.push({
      name: 'Cast int64 -> float32, int32 -> int64',
      ops: ['Cast'],
      inputs: [inp(n, 'int64'), inp(n, 'int32')],
      build: (g, [p, q]) => [g.op('Cast', [p], { to: 1 }), g.op('Cast', [q], { to: 7 })],
      expected: [out(map(n, Math.fround)), out(n, 'int64')],
    });
  }

  // ---- Einsum (the contractions retention needs)
  {
    const a = randomArr([2, 3, 4], 111);
    const b = randomArr([2, 4, 5], 112);
    cases.push({
      name: "Einsum 'bij,bjk->bik'",
      ops: ['Einsum'],
      inputs: [inp(a), inp(b)],
      build: (g, [p, q]) => g.op('Einsum', [p, q], { equation: 'bij,bjk->bik' }),
      expected: [out(matmul(a, b))],
    });
    const k = randomArr([2, 3], 113);
    const v = randomArr([2, 4], 114);
    const outer = arr(
      [2, 3, 4],
      new Array(24)
        .fill(0)
        .map(
          (_, i) =>
            k.data[Math.floor(i / 12) * 3 + (Math.floor(i / 4) % 3)] *
            v.data[Math.floor(i / 12) * 4 + (i % 4)],
        ),
    );
    cases.push({
      name: "Einsum 'hd,he->hde' (outer product per head)",
      ops: ['Einsum'],
      inputs: [inp(k), inp(v)],
      build: (g, [p, q]) => g.op('Einsum', [p, q], { equation: 'hd,he->hde' }),
      expected: [out(outer)],
    });
  }

  // ---- Range, Shape, ConstantOfShape, Trilu
  {
    cases.push({
      name: 'Range int64 (runtime scalars)',
      ops: ['Range'],
      inputs: [{ tensor: i64([], [2]) }, { tensor: i64([], [11]) }, { tensor: i64([], [3]) }],
      build: (g, [s, l, d]) => g.op('Range', [s, l, d]),
      expected: [i64([3], [2, 5, 8])],
    });
    cases.push({
      name: 'Range float32',
      ops: ['Range'],
      inputs: [cst(toTensor(arr([], [1]))), cst(toTensor(arr([], [0]))), cst(toTensor(arr([], [-0.25])))],
      build: (g, [s, l, d]) => g.op('Range', [s, l, d]),
      expected: [out(arr([4], [1, 0.75, 0.5, 0.25]))],
    });
    const x = randomArr([3, 5], 121);
    cases.push({
      name: 'Shape of a symbolic input; Shape start/end; ConstantOfShape',
      ops: ['Shape', 'ConstantOfShape'],
      inputs: [{ tensor: toTensor(x), declared: ['rows', 5] }],
      build: (g, [v]) => {
        const s = g.op('Shape', [v]);
        return [
          s,
          g.op('Shape', [v], { start: 1 }),
          g.op('ConstantOfShape', [s], { value: toTensor(arr([1], [0.5])) }),
        ];
      },
      expected: [i64([2], [3, 5]), i64([1], [5]), out(arr([3, 5], new Array(15).fill(0.5)))],
    });
    const t = randomArr([2, 4, 4], 122);
    cases.push({
      name: 'Trilu lower k=0 and upper k=1 (batched)',
      ops: ['Trilu'],
      inputs: [inp(t), cst(i64([], [1]))],
      build: (g, [v, k]) => [g.op('Trilu', [v], { upper: 0 }), g.op('Trilu', [v, k], { upper: 1 })],
      expected: [out(trilu(t, false, 0)), out(trilu(t, true, 1))],
    });
    const mask = arr(
      [4, 4],
      new Array(16).fill(0).map((_, i) => (i % 4 <= Math.floor(i / 4) ? 1 : 0)),
    );
    cases.push({
      name: 'Trilu lowering: Mul by a constant lower-triangular mask (WebGPU-safe)',
      ops: ['Mul'],
      inputs: [inp(t), cst(toTensor(mask))],
      build: (g, [v, m]) => g.op('Mul', [v, m]),
      expected: [out(trilu(t, false, 0))],
    });
  }
  return cases;
}

function halfRound(v: number): number {
  // the float32 value of the nearest float16, computed independently of the library under test
  if (v === 0) return 0;
  const e = Math.max(Math.floor(Math.log2(Math.abs(v))), -14);
  const ulp = 2 ** (e - 10);
  const q = v / ulp;
  const r = Math.round(q);
  const tie = Math.abs(q - Math.trunc(q)) === 0.5;
  return (tie ? (Math.trunc(q) % 2 === 0 ? Math.trunc(q) : Math.trunc(q) + Math.sign(q)) : r) * ulp;
}

/** The float16 / dtype matrix: every engine dtype goes in and comes out, and float16 math works where models use it. */
export function dtypeCases(): OpCase[] {
  const cases: OpCase[] = [];
  const x = arr([2, 3], [1, -2, 3, 0.5, 1024, -7]);
  const dtypes: DType[] = ['float32', 'float16', 'int32', 'int64'];
  for (const dt of dtypes) {
    cases.push({
      name: `dtype ${dt} in and out (Add with itself, Identity)`,
      ops: ['Add'],
      inputs: [{ tensor: toTensor(x, dt) }],
      build: (g, [v]) => [g.op('Add', [v, v]), v],
      expected: [
        toTensor(
          arr(
            [2, 3],
            x.data.map((v) => 2 * (dt.startsWith('int') ? Math.trunc(v) : v)),
          ),
          dt,
        ),
        toTensor(x, dt),
      ],
    });
  }
  const a = randomArr([3, 8], 7);
  const b = randomArr([8, 4], 8);
  const q = (t: number[]) => t.map((v) => halfOf(v));
  const a16 = arr([3, 8], q(a.data));
  const b16 = arr([8, 4], q(b.data));
  cases.push({
    name: 'float16 MatMul',
    ops: ['MatMul'],
    inputs: [{ tensor: toTensor(a16, 'float16') }, { tensor: toTensor(b16, 'float16') }],
    build: (g, [p, r]) => g.op('MatMul', [p, r]),
    expected: [toTensor(matmul(a16, b16), 'float16')],
    tol: 4e-3,
  });
  cases.push({
    name: 'float16 Mul, Sigmoid, ReduceSum',
    ops: ['Mul', 'Sigmoid', 'ReduceSum'],
    inputs: [{ tensor: toTensor(a16, 'float16') }],
    build: (g, [p]) => [
      g.op('Mul', [p, p]),
      g.op('Sigmoid', [p]),
      g.op('ReduceSum', [p, g.constant(int64([1], [1]))], { keepdims: 0 }),
    ],
    expected: [
      toTensor(
        arr(
          [3, 8],
          a16.data.map((v) => v * v),
        ),
        'float16',
      ),
      toTensor(
        arr(
          [3, 8],
          a16.data.map((v) => 1 / (1 + Math.exp(-v))),
        ),
        'float16',
      ),
      toTensor(
        arr(
          [3],
          [0, 1, 2].map((r) => a16.data.slice(r * 8, r * 8 + 8).reduce((s, v) => s + v, 0)),
        ),
        'float16',
      ),
    ],
    tol: 4e-3,
  });
  return cases;
}

function halfOf(v: number): number {
  return float16ToFloat32Array(toTensor(arr([], [v]), 'float16').data as Uint16Array)[0];
}

/** Every op type the cases exercise (what the conformance suite vouches for on CPU and wasm). */
export function coveredOps(): string[] {
  const s = new Set<string>();
  for (const c of opCases()) for (const o of c.ops) s.add(o);
  s.add('Identity');
  return [...s].sort();
}
