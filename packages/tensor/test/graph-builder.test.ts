import { describe, expect, it } from 'vitest';
import {
  assertPortable,
  DEFAULT_OPSET,
  float32,
  floatAttr,
  floatsAttr,
  GraphBuilder,
  int64,
  NonPortableGraphError,
  nonPortableNodes,
  nonPortableOps,
  PORTABLE_OPS,
  tensorOf,
  WEBGPU_LOWERINGS,
} from '../src/index.js';
import { ProtobufWriter } from '../src/onnx/protobuf-writer.js';

// ---- a minimal, independent protobuf wire-format reader (only for checking what the writer produced)
type Field = { wire: number; varint?: bigint; bytes?: Uint8Array; fixed32?: Uint8Array };
type Message = Map<number, Field[]>;

function readVarint(b: Uint8Array, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.i >= b.length) throw new Error('varint runs past the end');
    const byte = b[pos.i++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

function parse(b: Uint8Array): Message {
  const m: Message = new Map();
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const tag = Number(readVarint(b, pos));
    const field = tag >>> 3;
    const wire = tag & 7;
    let f: Field;
    if (wire === 0) f = { wire, varint: readVarint(b, pos) };
    else if (wire === 2) {
      const len = Number(readVarint(b, pos));
      f = { wire, bytes: b.subarray(pos.i, pos.i + len) };
      pos.i += len;
    } else if (wire === 5) {
      f = { wire, fixed32: b.subarray(pos.i, pos.i + 4) };
      pos.i += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (!m.has(field)) m.set(field, []);
    m.get(field)!.push(f);
  }
  return m;
}

const one = (m: Message, field: number): Field => {
  const fs = m.get(field) ?? [];
  if (fs.length !== 1) throw new Error(`field ${field}: expected exactly one, got ${fs.length}`);
  return fs[0];
};
const str = (m: Message, field: number) => new TextDecoder().decode(one(m, field).bytes);
const all = (m: Message, field: number) => m.get(field) ?? [];
const msgs = (m: Message, field: number) => all(m, field).map((f) => parse(f.bytes!));
const int = (m: Message, field: number) => BigInt.asIntN(64, one(m, field).varint!);
const packed = (f: Field): bigint[] => {
  const out: bigint[] = [];
  const pos = { i: 0 };
  while (pos.i < f.bytes!.length) out.push(BigInt.asIntN(64, readVarint(f.bytes!, pos)));
  return out;
};
const f32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);

function graphOf(g: GraphBuilder) {
  const model = parse(g.toBytes());
  const graph = parse(one(model, 7).bytes!);
  return { model, graph, nodes: msgs(graph, 1) };
}

function attrs(node: Message): Map<string, Message> {
  return new Map(msgs(node, 5).map((a) => [str(a, 1), a]));
}

describe('ProtobufWriter', () => {
  it('encodes varints, including 64-bit negatives as ten bytes', () => {
    const b = new ProtobufWriter()
      .int(1, 300)
      .int(2, -1)
      .int(3, 2 ** 40)
      .int(4, -(2 ** 40))
      .finish();
    // tag 0x08, 300 = 0xac 0x02
    expect(Array.from(b.subarray(0, 3))).toEqual([0x08, 0xac, 0x02]);
    const m = parse(b);
    expect(int(m, 1)).toBe(300n);
    expect(int(m, 2)).toBe(-1n);
    expect(int(m, 3)).toBe(2n ** 40n);
    expect(int(m, 4)).toBe(-(2n ** 40n));
    // -1: tag (1 byte) + 10 bytes
    const neg = new ProtobufWriter().int(1, -1).finish();
    expect(neg.length).toBe(11);
    expect(neg[10]).toBe(0x01);
  });

  it('encodes fixed32 floats, strings, nested messages and packed values', () => {
    const inner = new ProtobufWriter().string(1, 'héllo');
    const big = new Uint8Array(200).map((_, i) => i);
    const b = new ProtobufWriter()
      .float(1, -1.5)
      .message(2, inner)
      .packedInts(3, [1, -2, 2 ** 35])
      .packedFloats(4, [0.25, 3])
      .bytes(5, big)
      .finish();
    const m = parse(b);
    expect(one(m, 1).wire).toBe(5);
    expect(f32(one(m, 1).fixed32!)).toBe(-1.5);
    expect(str(parse(one(m, 2).bytes!), 1)).toBe('héllo');
    expect(packed(one(m, 3))).toEqual([1n, -2n, 2n ** 35n]);
    const fl = one(m, 4).bytes!;
    expect([f32(fl.subarray(0, 4)), f32(fl.subarray(4, 8))]).toEqual([0.25, 3]);
    expect(Array.from(one(m, 5).bytes!)).toEqual(Array.from(big));
  });
});

describe('GraphBuilder encoding', () => {
  it('writes the model header and the default opset', () => {
    const g = new GraphBuilder('hdr');
    g.output(g.op('Neg', [g.input('x', 'float32', [1])]), 'y', 'float32', [1]);
    const { model, graph } = graphOf(g);
    expect(int(model, 1)).toBe(8n); // IR version
    const opsets = msgs(model, 8);
    expect(opsets).toHaveLength(1);
    expect(str(opsets[0], 1)).toBe('');
    expect(int(opsets[0], 2)).toBe(BigInt(DEFAULT_OPSET));
    expect(str(graph, 2)).toBe('hdr');
  });

  it('adds the com.microsoft opset only when a node uses it', () => {
    const g = new GraphBuilder('ms', 18);
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('FastGelu', [x], {}, 'com.microsoft'), 'y', 'float32', [2]);
    const { model, nodes } = graphOf(g);
    const opsets = msgs(model, 8).map((o) => [str(o, 1), int(o, 2)]);
    expect(opsets).toEqual([
      ['', 18n],
      ['com.microsoft', 1n],
    ]);
    expect(str(nodes[0], 7)).toBe('com.microsoft');
    expect(g.opTypes()).toEqual(new Set(['com.microsoft.FastGelu', 'Identity']));
  });

  it('encodes int, negative int, float, ints, floats, string and tensor attributes with their types', () => {
    const g = new GraphBuilder('attrs');
    const x = g.input('x', 'float32', [2, 3]);
    const y = g.op('Custom', [x], {
      axis: -1,
      count: 7,
      alpha: floatAttr(2),
      beta: 0.25,
      perm: [1, -1, 2 ** 33],
      scales: floatsAttr([0.5, -4]),
      mode: 'constant',
      value: float32([1], [3.5]),
    });
    g.output(y, 'y', 'float32', [2, 3]);
    const { nodes } = graphOf(g);
    const a = attrs(nodes[0]);
    // AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7)
    expect(int(a.get('axis')!, 3)).toBe(-1n);
    expect(int(a.get('axis')!, 20)).toBe(2n);
    expect(int(a.get('count')!, 3)).toBe(7n);
    expect(f32(one(a.get('alpha')!, 2).fixed32!)).toBe(2);
    expect(int(a.get('alpha')!, 20)).toBe(1n);
    expect(a.get('alpha')!.has(3)).toBe(false);
    expect(f32(one(a.get('beta')!, 2).fixed32!)).toBe(0.25);
    expect(int(a.get('beta')!, 20)).toBe(1n);
    expect(packed(one(a.get('perm')!, 8))).toEqual([1n, -1n, 2n ** 33n]);
    expect(int(a.get('perm')!, 20)).toBe(7n);
    const fl = one(a.get('scales')!, 7).bytes!;
    expect([f32(fl.subarray(0, 4)), f32(fl.subarray(4, 8))]).toEqual([0.5, -4]);
    expect(int(a.get('scales')!, 20)).toBe(6n);
    expect(str(a.get('mode')!, 4)).toBe('constant');
    expect(int(a.get('mode')!, 20)).toBe(3n);
    const t = parse(one(a.get('value')!, 5).bytes!);
    expect(int(a.get('value')!, 20)).toBe(4n);
    expect(int(t, 2)).toBe(1n); // FLOAT
    expect(f32(one(t, 9).bytes!)).toBe(3.5);
  });

  it('writes names, omitted optional inputs, and node outputs', () => {
    const g = new GraphBuilder('names');
    const x = g.input('input_ids', 'int64', ['batch', 'seq']);
    const w = g.initializer('model.embed_tokens.weight', float32([4, 2]));
    const e = g.op('Gather', [w, x], { axis: 0 });
    const [a, b] = g.opN('Split', [e, null], 2, { axis: -1 });
    g.output(a, 'left', 'float32', ['batch', 'seq', 1]);
    g.output(b, 'right', 'float32', ['batch', 'seq', 1]);
    const { graph, nodes } = graphOf(g);
    expect(nodes.map((n) => str(n, 4))).toEqual(['Gather', 'Split', 'Identity', 'Identity']);
    expect(all(nodes[0], 1).map((f) => new TextDecoder().decode(f.bytes))).toEqual([
      'model.embed_tokens.weight',
      'input_ids',
    ]);
    // omitted optional input is the empty string
    expect(all(nodes[1], 1).map((f) => new TextDecoder().decode(f.bytes))).toEqual([e.name, '']);
    expect(all(nodes[1], 2)).toHaveLength(2);
    // node names are unique
    const names = nodes.map((n) => str(n, 3));
    expect(new Set(names).size).toBe(names.length);
    // initializer: name 8, dims 1 (packed), data_type 2, raw_data 9
    const init = msgs(graph, 5);
    expect(init.map((t) => str(t, 8))).toEqual(['model.embed_tokens.weight']);
    expect(packed(one(init[0], 1))).toEqual([4n, 2n]);
    expect(one(init[0], 9).bytes!.length).toBe(32);
    // inputs and outputs as ValueInfoProto with dim_param for symbols and dim_value for numbers
    const inputs = msgs(graph, 11);
    expect(inputs.map((v) => str(v, 1))).toEqual(['input_ids']);
    const outputs = msgs(graph, 12);
    expect(outputs.map((v) => str(v, 1))).toEqual(['left', 'right']);
    const tensorType = parse(one(parse(one(outputs[0], 2).bytes!), 1).bytes!);
    expect(int(tensorType, 1)).toBe(1n);
    const dims = msgs(parse(one(tensorType, 2).bytes!), 1);
    expect(str(dims[0], 2)).toBe('batch');
    expect(str(dims[1], 2)).toBe('seq');
    expect(int(dims[2], 1)).toBe(1n);
    const inType = parse(one(parse(one(inputs[0], 2).bytes!), 1).bytes!);
    expect(int(inType, 1)).toBe(7n); // INT64
  });

  it('writes the bytes of a subarray view, not its whole buffer', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const g = new GraphBuilder('view');
    g.initializer('w', tensorOf('float32', [2], backing.subarray(1, 3)));
    g.output(g.input('x', 'float32', [1]), 'y', 'float32', [1]);
    const t = msgs(graphOf(g).graph, 5)[0];
    const raw = one(t, 9).bytes!;
    expect([f32(raw.subarray(0, 4)), f32(raw.subarray(4, 8))]).toEqual([1, 2]);
    // a scalar has no dims field
    const s = new GraphBuilder('scalar');
    s.initializer('c', float32([], [1]));
    s.output(s.input('x', 'float32', [1]), 'y', 'float32', [1]);
    expect(msgs(graphOf(s).graph, 5)[0].has(1)).toBe(false);
  });

  it('refuses duplicate value names and deduplicates small constants only', () => {
    const g = new GraphBuilder('dups');
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/used twice/);
    expect(() => g.initializer('x', float32([1]))).toThrow(/used twice/);
    const c1 = g.constant(int64([1], [-1]));
    const c2 = g.constant(int64([1], [-1]));
    const c3 = g.constant(int64([1], [1]));
    expect(c1).toBe(c2);
    expect(c3.name).not.toBe(c1.name);
    const big1 = g.constant(float32([32]));
    const big2 = g.constant(float32([32]));
    expect(big1.name).not.toBe(big2.name);
  });

  it('counts op types', () => {
    const g = new GraphBuilder('count');
    const x = g.input('x', 'float32', [2]);
    const y = g.op('Add', [g.op('Add', [x, x]), g.op('Mul', [x, x])]);
    g.output(y, 'y', 'float32', [2]);
    expect(g.opTypes()).toEqual(new Set(['Add', 'Mul', 'Identity']));
    expect(g.opCounts().get('Add')).toBe(2);
    expect(g.nodeCount).toBe(4);
  });
});

describe('portable ops', () => {
  it('accepts graphs of portable ops', () => {
    const g = new GraphBuilder('ok');
    const x = g.input('x', 'float32', [2, 2]);
    g.output(g.op('MatMul', [x, g.op('Sigmoid', [x])]), 'y', 'float32', [2, 2]);
    expect(() => assertPortable(g)).not.toThrow();
    expect(nonPortableOps(g)).toEqual([]);
  });

  it('names each non-portable op with its lowering', () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', [4, 4]);
    const y = g.op('Trilu', [g.op('Softplus', [g.op('MatMulNBits', [x], {}, 'com.microsoft')])]);
    g.output(y, 'y', 'float32', [4, 4]);
    expect(nonPortableOps(g)).toEqual(['Softplus', 'Trilu', 'com.microsoft.MatMulNBits']);
    let err: unknown;
    try {
      assertPortable(g);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonPortableGraphError);
    const e = err as NonPortableGraphError;
    expect(e.code).toBe('NON_PORTABLE_OPS');
    expect(e.ops).toEqual(['Softplus', 'Trilu', 'com.microsoft.MatMulNBits']);
    expect(e.message).toContain("graph 'bad'");
    expect(e.message).toContain('Trilu -> Mul');
    expect(e.message).toContain('Where(Greater(x, 20)');
    // a caller may widen the set (e.g. CPU-only graphs)
    expect(() =>
      assertPortable(g, new Set([...PORTABLE_OPS, 'Trilu', 'Softplus', 'com.microsoft.MatMulNBits'])),
    ).not.toThrow();
  });

  it('flags portable ops in forms WebGPU gets wrong (Split without sizes, CumSum reverse)', () => {
    const g = new GraphBuilder('forms');
    const x = g.input('x', 'float32', [2, 4]);
    const axis = g.constant(int64([], [1]));
    const [a] = g.opN('Split', [x], 2, { axis: 1 });
    const [b] = g.opN('Split', [x, g.constant(int64([2], [1, 3]))], 2, { axis: 1 });
    const c = g.op('CumSum', [x, axis], { reverse: 1 });
    const d = g.op('CumSum', [x, axis], { exclusive: 1 });
    g.output(g.op('Concat', [a, b], { axis: 1 }), 'ab', 'float32', [2, 2]);
    g.output(g.op('Add', [c, d]), 'cd', 'float32', [2, 4]);
    expect(nonPortableOps(g)).toEqual([]);
    const nodes = nonPortableNodes(g);
    expect(nodes).toHaveLength(2);
    expect(nodes[0]).toMatch(/^n_Split_\d+: Split without explicit split sizes/);
    expect(nodes[1]).toMatch(/^n_CumSum_\d+: CumSum with reverse=1/);
    expect(() => assertPortable(g)).toThrow(/form WebGPU gets wrong/);
    expect(g.nodeList().map((n) => n.opType)).toEqual([
      'Split',
      'Split',
      'CumSum',
      'CumSum',
      'Concat',
      'Identity',
      'Add',
      'Identity',
    ]);
  });

  it('never lists an op as both portable and needing a lowering', () => {
    for (const op of Object.keys(WEBGPU_LOWERINGS)) expect(PORTABLE_OPS.has(op)).toBe(false);
    expect(nonPortableOps(['Add', 'Max', 'Min'])).toEqual(['Max', 'Min']);
  });
});
