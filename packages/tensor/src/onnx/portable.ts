/**
 * Which ONNX ops a graph may use so that it runs on all three runtimes we target: onnxruntime CPU
 * (backend-node), onnxruntime-web wasm, and onnxruntime-web's WebGPU execution provider (JSEP in 1.30).
 * CPU and wasm: verified numerically by tools/backend-conformance. WebGPU: an op must have a WebGPU kernel in
 * onnxruntime-web 1.30.0 (its JSEP kernel table and js/web/docs/webgpu-operators.md); Shape/Reshape/Squeeze/
 * Unsqueeze/Identity are layout-only ops that never need a GPU kernel.
 * An op outside this set still *runs* under WebGPU, but on the CPU EP, with a GPU<->CPU copy either side.
 */
import type { GraphBuilder, NodeInfo } from './graph-builder.js';

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

/**
 * Node-level rules for ops that are in PORTABLE_OPS but misbehave on onnxruntime-web 1.30's WebGPU EP in some
 * forms (found by tools/backend-conformance/webgpu): each returns a problem description or undefined.
 */
const NODE_RULES: Readonly<Record<string, (n: NodeInfo) => string | undefined>> = {
  Split: (n) =>
    n.inputs.length < 2 || n.inputs[1] === ''
      ? 'Split without explicit split sizes (WebGPU returns empty outputs): pass the sizes as the second input'
      : undefined,
  CumSum: (n) =>
    n.attributes.reverse === 1
      ? 'CumSum with reverse=1 (wrong on WebGPU): use Sub(ReduceSum(x, axis, keepdims=1), CumSum(x, axis, exclusive=1-e))'
      : undefined,
};

/** The graph uses ops outside the allowed set, or portable ops in a form WebGPU gets wrong. */
export class NonPortableGraphError extends Error {
  override readonly name = 'NonPortableGraphError';
  readonly code = 'NON_PORTABLE_OPS';
  constructor(
    readonly graph: string,
    readonly ops: readonly string[],
    /** Nodes of portable ops used in a non-portable form ('node: problem'). */
    readonly nodes: readonly string[] = [],
  ) {
    const parts: string[] = [];
    if (ops.length > 0) {
      const hints = ops.map((o) =>
        WEBGPU_LOWERINGS[o] ? `${o} -> ${WEBGPU_LOWERINGS[o]}` : `${o}: express it with PORTABLE_OPS`,
      );
      parts.push(
        `uses ops without a kernel on every runtime (CPU, wasm, WebGPU): ${ops.join(', ')}. ${hints.join('; ')}`,
      );
    }
    if (nodes.length > 0) parts.push(`has nodes in a form WebGPU gets wrong: ${nodes.join('; ')}`);
    super(`graph '${graph}' ${parts.join('; and it ')}`);
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

/** Nodes whose op is portable but whose form is not (Split without sizes, CumSum reverse=1), as 'node: problem'. */
export function nonPortableNodes(builder: GraphBuilder): string[] {
  const out: string[] = [];
  for (const n of builder.nodeList()) {
    const problem = n.domain ? undefined : NODE_RULES[n.opType]?.(n);
    if (problem) out.push(`${n.name}: ${problem}`);
  }
  return out;
}

/**
 * Throws NonPortableGraphError when the graph uses an op outside `allowed` (default PORTABLE_OPS), or a portable
 * op in a form the WebGPU EP gets wrong (see `nonPortableNodes`).
 */
export function assertPortable(builder: GraphBuilder, allowed: ReadonlySet<string> = PORTABLE_OPS): void {
  const bad = nonPortableOps(builder, allowed);
  const nodes = nonPortableNodes(builder);
  if (bad.length > 0 || nodes.length > 0) throw new NonPortableGraphError(builder.name, bad, nodes);
}
