/**
 * A tiny float64 n-d array for computing expected op results in plain TypeScript (row-major, numpy broadcasting).
 * Deliberately simple loops: it is the reference the backends are held to, so it must be obviously right.
 */
import { type DType, float32ToFloat16Array, type Tensor } from '@densessm/tensor';

export interface Arr {
  readonly dims: readonly number[];
  readonly data: number[];
}

export function arr(dims: readonly number[], data: ArrayLike<number | bigint>): Arr {
  const n = size(dims);
  if (data.length !== n) throw new Error(`reference: dims [${dims}] need ${n} values, got ${data.length}`);
  return { dims: [...dims], data: Array.from(data, Number) };
}

export function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

export function coords(dims: readonly number[], flat: number): number[] {
  const c = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    c[i] = flat % dims[i];
    flat = Math.floor(flat / dims[i]);
  }
  return c;
}

export function flatIndex(dims: readonly number[], c: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < dims.length; i++) f = f * dims[i] + c[i];
  return f;
}

/** Value of `a` at output coordinates `c` of a broadcast result (numpy rules, right-aligned). */
function at(a: Arr, c: readonly number[]): number {
  const off = c.length - a.dims.length;
  let f = 0;
  for (let i = 0; i < a.dims.length; i++) f = f * a.dims[i] + (a.dims[i] === 1 ? 0 : c[i + off]);
  return a.data[f];
}

export function broadcastDims(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[i - (rank - s.length)] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v) throw new Error(`reference: cannot broadcast [${shapes.join('] [')}]`);
        d = v;
      }
    }
    out.push(d);
  }
  return out;
}

export function map(a: Arr, f: (x: number) => number): Arr {
  return { dims: [...a.dims], data: a.data.map(f) };
}

export function zip(arrays: readonly Arr[], f: (...xs: number[]) => number): Arr {
  const dims = broadcastDims(...arrays.map((a) => a.dims));
  const data = new Array<number>(size(dims));
  for (let i = 0; i < data.length; i++) {
    const c = coords(dims, i);
    data[i] = f(...arrays.map((a) => at(a, c)));
  }
  return { dims, data };
}

/** numpy matmul for rank >= 2 operands with broadcast batch dims. */
export function matmul(a: Arr, b: Arr): Arr {
  const [m, k] = a.dims.slice(-2);
  const [k2, n] = b.dims.slice(-2);
  if (k !== k2) throw new Error('reference: matmul inner dims differ');
  const batch = broadcastDims(a.dims.slice(0, -2), b.dims.slice(0, -2));
  const dims = [...batch, m, n];
  const data = new Array<number>(size(dims)).fill(0);
  const aBatch = { dims: a.dims.slice(0, -2), data: [] as number[] };
  const bBatch = { dims: b.dims.slice(0, -2), data: [] as number[] };
  for (let bi = 0; bi < size(batch); bi++) {
    const c = coords(batch, bi);
    const ao = batchOffset(aBatch.dims, c) * m * k;
    const bo = batchOffset(bBatch.dims, c) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a.data[ao + i * k + t] * b.data[bo + t * n + j];
        data[bi * m * n + i * n + j] = s;
      }
  }
  return { dims, data };
}

function batchOffset(dims: readonly number[], c: readonly number[]): number {
  const off = c.length - dims.length;
  let f = 0;
  for (let i = 0; i < dims.length; i++) f = f * dims[i] + (dims[i] === 1 ? 0 : c[i + off]);
  return f;
}

export function transpose(a: Arr, perm: readonly number[]): Arr {
  const dims = perm.map((p) => a.dims[p]);
  const data = new Array<number>(a.data.length);
  for (let i = 0; i < data.length; i++) {
    const c = coords(dims, i);
    const src = new Array<number>(a.dims.length);
    perm.forEach((p, j) => {
      src[p] = c[j];
    });
    data[i] = a.data[flatIndex(a.dims, src)];
  }
  return { dims, data };
}

/** Reduces over `axes` (negative allowed; empty = all) with `f` from `init`, then `finish(acc, count)`. */
export function reduce(
  a: Arr,
  axes: readonly number[],
  keepdims: boolean,
  init: number,
  f: (acc: number, x: number) => number,
  finish: (acc: number, count: number) => number = (x) => x,
): Arr {
  const rank = a.dims.length;
  const ax = new Set((axes.length === 0 ? a.dims.map((_, i) => i) : axes).map((x) => (x + rank) % rank));
  const outFull = a.dims.map((d, i) => (ax.has(i) ? 1 : d));
  const acc = new Array<number>(size(outFull)).fill(init);
  let count = 1;
  for (const i of ax) count *= a.dims[i];
  for (let i = 0; i < a.data.length; i++) {
    const c = coords(a.dims, i).map((v, j) => (ax.has(j) ? 0 : v));
    const o = flatIndex(outFull, c);
    acc[o] = f(acc[o], a.data[i]);
  }
  const dims = keepdims ? outFull : a.dims.filter((_, i) => !ax.has(i));
  return { dims, data: acc.map((v) => finish(v, count)) };
}

/** Deterministic pseudo-random values in [lo, hi). */
export function random(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.push(lo + (hi - lo) * (s / 2 ** 32));
  }
  return out;
}

export function randomArr(dims: readonly number[], seed: number, lo = -1, hi = 1): Arr {
  // round through float32 so the reference sees exactly what the backend sees
  return { dims: [...dims], data: random(size(dims), seed, lo, hi).map(Math.fround) };
}

/** Converts a reference array to an engine tensor of `dtype` (float16 rounds; ints truncate toward zero). */
export function toTensor(a: Arr, dtype: DType = 'float32'): Tensor {
  const dims = [...a.dims];
  switch (dtype) {
    case 'float32':
      return { dtype, dims, data: Float32Array.from(a.data) };
    case 'float16':
      return { dtype, dims, data: float32ToFloat16Array(a.data) };
    case 'int32':
      return { dtype, dims, data: Int32Array.from(a.data, Math.trunc) };
    case 'int64':
      return { dtype, dims, data: BigInt64Array.from(a.data, (x) => BigInt(Math.trunc(x))) };
  }
}
