import type { DType, Tensor } from '../tensor.js';
import { ProtobufWriter } from './protobuf-writer.js';

/** ONNX TensorProto.DataType codes for the dtypes we use (onnx.proto3). */
const ONNX_DTYPE: Record<DType | 'bool', number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10 };

export const DEFAULT_OPSET = 17;
const IR_VERSION = 8;

/** A symbolic value in the graph: its name is what ONNX wires by. */
export interface Value {
  readonly name: string;
}

/** A dimension: a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

export type AttributeValue =
  | number
  | string
  | readonly number[]
  | Tensor
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] };

/** Marks a number attribute as FLOAT (plain numbers become INT when integral). */
export function floatAttr(value: number): AttributeValue {
  return { kind: 'float', value };
}

export function floatsAttr(value: readonly number[]): AttributeValue {
  return { kind: 'floats', value };
}

/** A node as recorded by the builder (read-only view for checks such as `assertPortable`). */
export interface NodeInfo {
  readonly opType: string;
  /** Input value names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** '' for the default ONNX domain. */
  readonly domain: string;
}

interface NodeRecord {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, AttributeValue>;
  domain: string;
}

interface ValueInfo {
  name: string;
  dtype: DType | 'bool';
  dims: readonly Dim[];
}

function isTensor(v: AttributeValue): v is Tensor {
  return typeof v === 'object' && v !== null && 'dims' in v && 'data' in v;
}

function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function encodeTensor(name: string, t: Tensor): ProtobufWriter {
  const w = new ProtobufWriter();
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, ONNX_DTYPE[t.dtype]);
  w.string(8, name);
  w.bytes(9, tensorBytes(t));
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtobufWriter {
  const shape = new ProtobufWriter();
  for (const d of v.dims) {
    const dim = new ProtobufWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtobufWriter().int(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  const type = new ProtobufWriter().message(1, tensorType);
  return new ProtobufWriter().string(1, v.name).message(2, type);
}

function encodeAttribute(name: string, value: AttributeValue): ProtobufWriter {
  const w = new ProtobufWriter().string(1, name);
  if (typeof value === 'number') {
    if (Number.isInteger(value)) w.int(3, value).int(20, 2);
    else w.float(2, value).int(20, 1);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, 3);
  } else if (Array.isArray(value)) {
    w.packedInts(8, value as readonly number[]).int(20, 7);
  } else if (isTensor(value as AttributeValue)) {
    w.message(5, encodeTensor(name, value as Tensor)).int(20, 4);
  } else {
    const v = value as { kind: 'float' | 'floats'; value: number | readonly number[] };
    if (v.kind === 'float') w.float(2, v.value as number).int(20, 1);
    else w.packedFloats(7, v.value as readonly number[]).int(20, 6);
  }
  return w;
}

/**
 * Builds an ONNX model in memory. Values are named automatically; every op returns its outputs as `Value`s.
 *
 *   const g = new GraphBuilder('step');
 *   const ids = g.input('input_ids', 'int64', ['batch']);
 *   const emb = g.initializer('embed', weights);
 *   const x = g.op('Gather', [emb, ids], { axis: 0 });
 *   g.output(x, 'hidden', 'float32', ['batch', 512]);
 *   const bytes = g.toBytes();
 */
export class GraphBuilder {
  private readonly nodes: NodeRecord[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly constantCache = new Map<string, Value>();
  private readonly usedNames = new Set<string>();
  private counter = 0;

  constructor(
    readonly name: string,
    readonly opset: number = DEFAULT_OPSET,
  ) {}

  private freshName(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.usedNames.has(name));
    this.usedNames.add(name);
    return name;
  }

  private claimName(name: string): string {
    if (this.usedNames.has(name)) throw new Error(`graph ${this.name}: value name '${name}' is used twice`);
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dtype: DType | 'bool', dims: readonly Dim[]): Value {
    this.inputs.push({ name: this.claimName(name), dtype, dims });
    return { name };
  }

  /** Binds a tensor as a graph initializer (weights, constants). */
  initializer(name: string, tensor: Tensor): Value {
    this.initializers.set(this.claimName(name), tensor);
    return { name };
  }

  /** A constant tensor as an initializer, deduplicated by content for small constants. */
  constant(tensor: Tensor, hint = 'const'): Value {
    const small = tensor.data.length <= 16;
    const key = small
      ? `${tensor.dtype}|${tensor.dims.join(',')}|${Array.from(tensor.data as ArrayLike<number | bigint>).join(',')}`
      : '';
    if (small) {
      const hit = this.constantCache.get(key);
      if (hit) return hit;
    }
    const name = this.freshName(hint);
    this.initializers.set(name, tensor);
    const value = { name };
    if (small) this.constantCache.set(key, value);
    return value;
  }

  /** Declares `value` a graph output under `name` (an Identity node renames it when needed). */
  output(value: Value, name: string, dtype: DType | 'bool', dims: readonly Dim[]): void {
    let source = value.name;
    if (source !== name) {
      this.claimName(name);
      this.nodes.push({
        opType: 'Identity',
        inputs: [source],
        outputs: [name],
        name: `${name}_out`,
        attributes: {},
        domain: '',
      });
      source = name;
    }
    this.outputs.push({ name: source, dtype, dims });
  }

  /** Adds a node with a single output. An input of `null` is an omitted optional input. */
  op(
    opType: string,
    inputs: readonly (Value | null)[],
    attributes: Record<string, AttributeValue> = {},
    domain = '',
  ): Value {
    return this.opN(opType, inputs, 1, attributes, domain)[0];
  }

  /** Adds a node with `outputCount` outputs. */
  opN(
    opType: string,
    inputs: readonly (Value | null)[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    domain = '',
  ): Value[] {
    const outputs = Array.from({ length: outputCount }, () => this.freshName(opType.toLowerCase()));
    this.nodes.push({
      opType,
      inputs: inputs.map((v) => (v === null ? '' : v.name)),
      outputs,
      name: this.freshName(`n_${opType}`),
      attributes,
      domain,
    });
    return outputs.map((name) => ({ name }));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The nodes so far, in order (a read-only view). */
  nodeList(): readonly NodeInfo[] {
    return this.nodes;
  }

  /** The distinct op types in the graph so far; ops of another domain appear as `domain.OpType`. */
  opTypes(): Set<string> {
    return new Set(this.nodes.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType)));
  }

  /** How many nodes of each op type the graph has (same naming as `opTypes`). */
  opCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const n of this.nodes) {
      const key = n.domain ? `${n.domain}.${n.opType}` : n.opType;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /** Serialises to ONNX ModelProto bytes. */
  toBytes(): Uint8Array {
    const graph = new ProtobufWriter();
    for (const n of this.nodes) {
      const node = new ProtobufWriter();
      for (const i of n.inputs) node.string(1, i);
      for (const o of n.outputs) node.string(2, o);
      node.string(3, n.name).string(4, n.opType);
      for (const [k, v] of Object.entries(n.attributes)) node.message(5, encodeAttribute(k, v));
      if (n.domain) node.string(7, n.domain);
      graph.message(1, node);
    }
    graph.string(2, this.name);
    for (const [name, t] of this.initializers) graph.message(5, encodeTensor(name, t));
    for (const i of this.inputs) graph.message(11, encodeValueInfo(i));
    for (const o of this.outputs) graph.message(12, encodeValueInfo(o));

    const model = new ProtobufWriter().int(1, IR_VERSION).string(2, 'densessm').string(3, '0.1.0');
    model.message(7, graph);
    model.message(8, new ProtobufWriter().string(1, '').int(2, this.opset));
    if (this.nodes.some((n) => n.domain === 'com.microsoft')) {
      model.message(8, new ProtobufWriter().string(1, 'com.microsoft').int(2, 1));
    }
    return model.finish();
  }
}
