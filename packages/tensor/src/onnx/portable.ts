/**
 * Which ONNX ops a graph may use so that it runs on all three runtimes we target: onnxruntime CPU
 * (backend-node), onnxruntime-web wasm, and onnxruntime-web's WebGPU execution provider (JSEP in 1.30).
 * CPU and wasm: verified numerically by tools/backend-conformance. WebGPU: an op must have a WebGPU kernel in
 * onnxruntime-web 1.30.0 (its JSEP kernel table and js/web/docs/webgpu-operators.md); Shape/Reshape/Squeeze/
 * Unsqueeze/Identity are layout-only ops that never need a GPU kernel.
 * An op outside this set still *runs* under WebGPU, but on the CPU EP, with a GPU<->CPU copy either side.
 */
import type { GraphBuilder } from './graph-builder.js';

export const PORTABLE_OPS: ReadonlySet<string> = new Set([
  'Abs',
  'Add',
  'Cast',
  'Concat',
  'Cos',
  'CumSum',
  'Div',
  'Einsum',
  'Equal',
  'Exp',
  'Expand',
  'Gather',
  'GatherElements',
  'GatherND',
  'Gemm',
  'Greater',
  'Identity',
  'Less',
  'Log',
  'MatMul',
  'Mul',
  'Neg',
  'Pow',
  'Range',
  'Reciprocal',
  'ReduceMax',
  'ReduceMean',
  'ReduceSum',
  'Reshape',
  'ScatterND',
  'Shape',
  'Sigmoid',
  'Sin',
  'Slice',
  'Softmax',
  'Split',
  'Sqrt',
  'Squeeze',
  'Sub',
  'Tanh',
  'Tile',
  'Transpose',
  'Unsqueeze',
  'Where',
]);

/**
 * Ops that work on CPU and wasm but have no WebGPU kernel in onnxruntime-web 1.30, with the portable lowering.
 */
export const WEBGPU_LOWERINGS: Readonly<Record<string, string>> = {
  Softplus:
    'Where(Greater(x, 20), x, Log(Add(Exp(x), 1)))  (the x > 20 branch matches PyTorch and avoids overflow)',
  Trilu: 'Mul (or Where) with a constant 0/1 triangular mask initializer',
  Max: 'Where(Greater(a, b), a, b); for a constant bound prefer Clip',
  Min: 'Where(Less(a, b), a, b); for a constant bound prefer Clip',
  ConstantOfShape: 'Expand(scalar constant, shape)',
  Scan: 'unroll in the builder, or use the parallel (CumSum / masked MatMul) form',
  Loop: 'unroll in the builder, or use the parallel (CumSum / masked MatMul) form',
  Mod: 'Sub(a, Mul(Div(a, b), b)) on int32 / floor division in float',
  Sign: 'Sub(Cast(Greater(x, 0)), Cast(Less(x, 0)))',
};

/** The graph uses ops outside the allowed set. */
export class NonPortableGraphError extends Error {
  override readonly name = 'NonPortableGraphError';
  readonly code = 'NON_PORTABLE_OPS';
  constructor(
    readonly graph: string,
    readonly ops: readonly string[],
  ) {
    super(
      `graph '${graph}' uses ops without a kernel on every runtime (CPU, wasm, WebGPU): ${ops.join(', ')}. ` +
        ops
          .map((o) =>
            WEBGPU_LOWERINGS[o] ? `${o} -> ${WEBGPU_LOWERINGS[o]}` : `${o}: express it with PORTABLE_OPS`,
          )
          .join('; '),
    );
  }
}

/** Op types in `builder` (or a list of op types) that are not in `allowed`, sorted. */
export function nonPortableOps(
  source: GraphBuilder | Iterable<string>,
  allowed: ReadonlySet<string> = PORTABLE_OPS,
): string[] {
  const ops = 'opTypes' in source ? source.opTypes() : new Set(source);
  return [...ops].filter((o) => !allowed.has(o)).sort();
}

/** Throws NonPortableGraphError when the graph uses an op outside `allowed` (default PORTABLE_OPS). */
export function assertPortable(builder: GraphBuilder, allowed: ReadonlySet<string> = PORTABLE_OPS): void {
  const bad = nonPortableOps(builder, allowed);
  if (bad.length > 0) throw new NonPortableGraphError(builder.name, bad);
}
