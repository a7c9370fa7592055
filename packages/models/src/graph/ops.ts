import { float32, type GraphBuilder, int64, type Tensor, type Value } from '@densessm/tensor';

/**
 * Graph helpers shared by every architecture. They use only ops every backend runs (ONNX opset 17:
 * MatMul, Mul, Add, Sub, Div, Pow, Sqrt, Exp, Log, Sigmoid, ReduceMean, ReduceSum, Reshape, Transpose, Split,
 * Concat, Gather, Unsqueeze, Where, Greater, Identity), all in @densessm/tensor's PORTABLE_OPS.
 */

export function constF32(
  g: GraphBuilder,
  values: readonly number[] | Float32Array,
  dims: readonly number[],
): Value {
  return g.constant(float32(dims, values), 'cf');
}

export function constI64(g: GraphBuilder, values: readonly number[]): Value {
  return g.constant(int64([values.length], values), 'ci');
}

export function scalarF32(g: GraphBuilder, value: number): Value {
  return g.constant(float32([], [value]), 'sf');
}

/** silu(x) = x * sigmoid(x) (SPEC.md). */
export function silu(g: GraphBuilder, x: Value): Value {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** softplus(x) = log(1 + exp(x)), and x itself for x > 20 as PyTorch does (SPEC.md); exp overflow is discarded. */
export function softplus(g: GraphBuilder, x: Value): Value {
  const soft = g.op('Log', [g.op('Add', [g.op('Exp', [x]), scalarF32(g, 1)])]);
  return g.op('Where', [g.op('Greater', [x, scalarF32(g, 20)]), x, soft]);
}

/**
 * RMSNorm_w(x) = w * x / sqrt(mean(x^2) + eps) over the last axis (SPEC.md). Written as the
 * Pow/ReduceMean/Add/Sqrt/Div/Mul chain that onnxruntime fuses into one kernel.
 */
export function rmsNorm(g: GraphBuilder, x: Value, weight: Value, eps: number): Value {
  const meanSquare = g.op('ReduceMean', [g.op('Pow', [x, scalarF32(g, 2)])], { axes: [-1], keepdims: 1 });
  const rms = g.op('Sqrt', [g.op('Add', [meanSquare, scalarF32(g, eps)])]);
  return g.op('Mul', [g.op('Div', [x, rms]), weight]);
}

/** `x @ wT` where `wT` is an nn.Linear weight stored transposed ([in, out]); see `transposed`. */
export function linear(g: GraphBuilder, x: Value, wT: Value): Value {
  return g.op('MatMul', [x, wT]);
}

export function reshape(g: GraphBuilder, x: Value, dims: readonly number[]): Value {
  return g.op('Reshape', [x, constI64(g, dims)]);
}

export function transpose(g: GraphBuilder, x: Value, perm: readonly number[]): Value {
  return g.op('Transpose', [x], { perm });
}

export function split(g: GraphBuilder, x: Value, sizes: readonly number[], axis: number): Value[] {
  return g.opN('Split', [x, constI64(g, sizes)], sizes.length, { axis });
}

export function concat(g: GraphBuilder, xs: readonly Value[], axis: number): Value {
  return xs.length === 1 ? xs[0] : g.op('Concat', xs, { axis });
}

export function reduceSum(g: GraphBuilder, x: Value, axes: readonly number[], keepdims: boolean): Value {
  return g.op('ReduceSum', [x, constI64(g, axes)], { keepdims: keepdims ? 1 : 0 });
}

export function unsqueeze(g: GraphBuilder, x: Value, axes: readonly number[]): Value {
  return g.op('Unsqueeze', [x, constI64(g, axes)]);
}

/** Picks index `i` of `axis` and drops that axis. */
export function pick(g: GraphBuilder, x: Value, i: number, axis: number): Value {
  return g.op('Gather', [x, g.constant(int64([], [i]), 'ci')], { axis });
}

export function scale(g: GraphBuilder, x: Value, factor: number): Value {
  return g.op('Mul', [x, scalarF32(g, factor)]);
}

/** The transpose of a row-major 2-D fp32 tensor (nn.Linear `[out, in]` -> `[in, out]` for `linear`). */
export function transposed(t: Tensor<'float32'>): Tensor<'float32'> {
  const [rows, cols] = t.dims;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { dtype: 'float32', dims: [cols, rows], data: out };
}
