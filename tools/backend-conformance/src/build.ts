import { GraphBuilder, type Tensor, type Value } from '@densessm/tensor';
import type { CaseInput, OpCase } from './cases.js';

/** Builds a graph from an op case: inputs x0..xn in order (or initializers c0..), outputs y0..yn, symbolic dims. */
export function buildCaseGraph(c: OpCase): {
  bytes: Uint8Array;
  feeds: Record<string, Tensor>;
  builder: GraphBuilder;
} {
  const g = new GraphBuilder(c.name.replace(/[^A-Za-z0-9]+/g, '_'));
  const feeds: Record<string, Tensor> = {};
  const values: Value[] = c.inputs.map((input: CaseInput, i) => {
    if (input.constant) return g.initializer(`c${i}`, input.tensor);
    feeds[`x${i}`] = input.tensor;
    return g.input(`x${i}`, input.tensor.dtype, input.declared ?? input.tensor.dims);
  });
  const result = c.build(g, values);
  const outs = Array.isArray(result) ? (result as Value[]) : [result as Value];
  if (outs.length !== c.expected.length)
    throw new Error(`case ${c.name}: ${outs.length} outputs, ${c.expected.length} expected`);
  outs.forEach((v, i) => {
    const e = c.expected[i];
    g.output(
      v,
      `y${i}`,
      e.dtype,
      e.dims.map((_, d) => `y${i}_d${d}`),
    );
  });
  return { bytes: g.toBytes(), feeds, builder: g };
}

/** A one-node graph, y = -a for a: float32 [2]: the smallest model a backend test can load. */
export function negGraph(): Uint8Array {
  const g = new GraphBuilder('neg');
  g.output(g.op('Neg', [g.input('a', 'float32', [2])]), 'y', 'float32', [2]);
  return g.toBytes();
}
