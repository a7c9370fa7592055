import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  float32,
  float32ToBfloat16Array,
  float32ToFloat16Array,
  int32,
  int64,
  parseSafetensors,
  SafetensorsError,
  type Tensor,
  tensorOf,
  tensorToFloat32,
} from '../src/index.js';
import {
  readSafetensorsEntries,
  readSafetensorsFile,
  readSafetensorsFolder,
  writeSafetensorsFile,
} from '../src/node.js';

/** Hand-builds a safetensors file from a header object and a data section. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Runs `fn` (sync or async) and checks it throws a SafetensorsError with `code` and message fragments. */
async function expectCode(
  fn: () => unknown,
  code: string,
  ...fragments: string[]
): Promise<SafetensorsError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    const err = e as SafetensorsError;
    expect(err.code).toBe(code);
    for (const f of fragments) expect(err.message).toContain(f);
    return err;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('safetensors round trip', () => {
  it('writes and reads F32, F16, BF16, I32, I64 with metadata', () => {
    const w = float32([2, 3], [1, 2, 3, 4, 5, -6.5]);
    const h = tensorOf('float16', [3], float32ToFloat16Array([0.5, -1, 65504]));
    const bf = { dtype: 'BF16' as const, dims: [2], data: float32ToBfloat16Array([1.5, -3]) };
    const i = int32([2, 2], [1, -2, 3, 2147483647]);
    const l = int64([3], [-1n, 0n, 9007199254740993n]);
    const scalar = float32([], [7]);
    const bytes = encodeSafetensors({ w, h, bf, i, l, scalar }, { format: 'pt', note: 'x' });
    // header is padded to a multiple of 8 so data is aligned
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...file.tensors.keys()]).toEqual(['w', 'h', 'bf', 'i', 'l', 'scalar']);
    expect(file.tensors.get('bf')?.dtype).toBe('BF16');
    const t = decodeSafetensors(bytes);
    expect(t.get('w')).toEqual({ dtype: 'float32', dims: [2, 3], data: w.data });
    expect(t.get('h')?.dtype).toBe('float16');
    expect(Array.from(t.get('h')?.data as Uint16Array)).toEqual(Array.from(h.data));
    expect(t.get('bf')).toEqual({ dtype: 'float32', dims: [2], data: new Float32Array([1.5, -3]) });
    expect(Array.from(t.get('i')?.data as Int32Array)).toEqual([1, -2, 3, 2147483647]);
    expect(Array.from(t.get('l')?.data as BigInt64Array)).toEqual([-1n, 0n, 9007199254740993n]);
    expect(t.get('scalar')?.dims).toEqual([]);
    expect(Array.from(t.get('scalar')?.data as Float32Array)).toEqual([7]);
    const up = decodeSafetensors(bytes, { toFloat32: true }).get('h') as Tensor;
    expect(up.dtype).toBe('float32');
    expect(Array.from(up.data as Float32Array)).toEqual([0.5, -1, 65504]);
    expect(tensorToFloat32(t.get('h') as Tensor).data).toEqual(new Float32Array([0.5, -1, 65504]));
    expect(() => tensorToFloat32(t.get('i') as Tensor)).toThrow(SafetensorsError);
  });

  it('returns views by default and copies on request; copes with unaligned buffers', () => {
    const bytes = encodeSafetensors({ a: float32([2], [1, 2]) });
    const view = parseSafetensors(bytes).tensors.get('a')!;
    expect(view.data.buffer).toBe(bytes.buffer);
    const copy = parseSafetensors(bytes, { copy: true }).tensors.get('a')!;
    expect(copy.data.buffer).not.toBe(bytes.buffer);
    // put the file at an odd offset of a bigger buffer: the reader must copy instead of throwing
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const a = parseSafetensors(shifted.subarray(1)).tensors.get('a')!;
    expect(Array.from(a.data as Float32Array)).toEqual([1, 2]);
  });

  it('reads header-order files written by other tools (no padding, reversed offsets order)', () => {
    const data = new Uint8Array(new Float32Array([10, 20, 30]).buffer);
    const f = rawFile(
      {
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      },
      data,
    );
    const t = decodeSafetensors(f);
    expect(Array.from(t.get('a')!.data as Float32Array)).toEqual([10, 20]);
    expect(Array.from(t.get('b')!.data as Float32Array)).toEqual([30]);
  });
});

describe('safetensors errors', () => {
  it('truncated before the length', async () => {
    await expectCode(
      () => parseSafetensors(new Uint8Array(5), { source: 'x.safetensors' }),
      'SAFETENSORS_TRUNCATED',
      'x.safetensors',
      '5 bytes',
    );
  });

  it('header length past the end', async () => {
    const f = rawFile({}, new Uint8Array(0), 1000);
    await expectCode(
      () => parseSafetensors(f, { source: 'm.safetensors' }),
      'SAFETENSORS_HEADER_OUT_OF_RANGE',
      'm.safetensors',
      '1000',
    );
  });

  it('bad JSON', async () => {
    await expectCode(
      () => parseSafetensors(rawFile('{"a": '), { source: 'bad.st' }),
      'SAFETENSORS_BAD_HEADER',
      'bad.st',
      'JSON',
    );
    await expectCode(() => parseSafetensors(rawFile('[1,2]')), 'SAFETENSORS_BAD_HEADER', 'object');
  });

  it('unknown or unsupported dtype names the tensor', async () => {
    const e = await expectCode(
      () =>
        parseSafetensors(
          rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
          { source: 'f' },
        ),
      'SAFETENSORS_UNKNOWN_DTYPE',
      "tensor 'w'",
      'Q4',
      'F32',
    );
    expect(e.tensor).toBe('w');
    await expectCode(
      () =>
        parseSafetensors(
          rawFile({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
        ),
      'SAFETENSORS_UNKNOWN_DTYPE',
      'not supported',
    );
  });

  it('offsets not matching the shape', async () => {
    await expectCode(
      () =>
        parseSafetensors(
          rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(16)),
        ),
      'SAFETENSORS_BAD_OFFSETS',
      "'w'",
      '12 bytes',
      'needs 16',
    );
    await expectCode(
      () =>
        parseSafetensors(
          rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Uint8Array(16)),
        ),
      'SAFETENSORS_BAD_OFFSETS',
    );
    await expectCode(
      () =>
        parseSafetensors(
          rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
        ),
      'SAFETENSORS_BAD_HEADER',
      'shape',
    );
  });

  it('offsets past the data section (truncated file)', async () => {
    const full = encodeSafetensors({ a: float32([4], [1, 2, 3, 4]), b: float32([4], [5, 6, 7, 8]) });
    const cut = full.subarray(0, full.length - 3);
    const e = await expectCode(
      () => parseSafetensors(cut, { source: 'cut.safetensors' }),
      'SAFETENSORS_TRUNCATED',
      "tensor 'b'",
      'cut.safetensors',
    );
    expect(e.file).toBe('cut.safetensors');
  });

  it('writer refuses inconsistent input', () => {
    const bad = { dtype: 'float32', dims: [3], data: new Float32Array(2) } as Tensor;
    expect(() => encodeSafetensors({ bad })).toThrow(/need 3 elements, data has 2/);
  });
});

describe('safetensors folders (node)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densessm-st-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a single-file folder and a file path', async () => {
    const d = join(dir, 'single');
    await writeSafetensorsFile(join(d, 'model.safetensors'), { x: float32([2], [1, 2]), y: int64([1], [5]) });
    const m = await readSafetensorsFolder(d);
    expect([...m.keys()].sort()).toEqual(['x', 'y']);
    expect(Array.from(m.get('x')!.data as Float32Array)).toEqual([1, 2]);
    const f = await readSafetensorsFile(join(d, 'model.safetensors'));
    expect(f.get('y')?.dtype).toBe('int64');
  });

  it('reads a sharded folder through the index, upcasting on request', async () => {
    const d = join(dir, 'sharded');
    await writeSafetensorsFile(join(d, 'model-00001-of-00002.safetensors'), {
      a: float32([2], [1, 2]),
      h: tensorOf('float16', [2], float32ToFloat16Array([0.25, 4])),
    });
    await writeSafetensorsFile(join(d, 'model-00002-of-00002.safetensors'), {
      b: { dtype: 'BF16', dims: [1], data: float32ToBfloat16Array([2.5]) },
    });
    const index = {
      metadata: { total_size: 14 },
      weight_map: {
        a: 'model-00001-of-00002.safetensors',
        h: 'model-00001-of-00002.safetensors',
        b: 'model-00002-of-00002.safetensors',
      },
    };
    await writeFile(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
    const m = await readSafetensorsFolder(d, { toFloat32: true });
    expect(m.size).toBe(3);
    expect(m.get('h')).toEqual({ dtype: 'float32', dims: [2], data: new Float32Array([0.25, 4]) });
    expect(m.get('b')).toEqual({ dtype: 'float32', dims: [1], data: new Float32Array([2.5]) });
    const keep = await readSafetensorsFolder(d);
    expect(keep.get('h')?.dtype).toBe('float16');
  });

  it('reads from disk tensor by tensor, each tensor in its own buffer', async () => {
    const path = join(dir, 'own', 'model.safetensors');
    await writeSafetensorsFile(path, { a: float32([3], [1, 2, 3]), b: int32([2], [7, 8]) }, { k: 'v' });
    const file = await readSafetensorsEntries(path);
    expect(file.metadata).toEqual({ k: 'v' });
    const a = file.tensors.get('a')!;
    expect(Array.from(a.data as Float32Array)).toEqual([1, 2, 3]);
    expect(a.data.buffer.byteLength).toBe(12);
    expect(file.tensors.get('b')!.data.buffer).not.toBe(a.data.buffer);
  });

  it('reports truncated and tiny files on disk with the path', async () => {
    const full = encodeSafetensors({ a: float32([4], [1, 2, 3, 4]) });
    const cut = join(dir, 'cut.safetensors');
    await writeFile(cut, full.subarray(0, full.length - 1));
    await expectCode(() => readSafetensorsFile(cut), 'SAFETENSORS_TRUNCATED', cut, "'a'");
    const tiny = join(dir, 'tiny.safetensors');
    await writeFile(tiny, new Uint8Array(3));
    await expectCode(() => readSafetensorsFile(tiny), 'SAFETENSORS_TRUNCATED', tiny, '3 bytes');
    const d = join(dir, 'cut-shard');
    await mkdir(d, { recursive: true });
    await writeFile(
      join(d, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: 's.safetensors' } }),
    );
    await writeFile(join(d, 's.safetensors'), full.subarray(0, full.length - 1));
    await expectCode(() => readSafetensorsFolder(d), 'SAFETENSORS_TRUNCATED', join(d, 's.safetensors'));
  });

  /** A folder with shard s1.safetensors holding `a`, and an index mapping `weightMap`. */
  async function indexedFolder(name: string, weightMap: Record<string, string>): Promise<string> {
    const d = join(dir, name);
    await writeSafetensorsFile(join(d, 's1.safetensors'), { a: float32([1], [1]) });
    await writeFile(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    return d;
  }

  it('names the missing shard, and a tensor the index lists but the shard lacks', async () => {
    const cases: {
      folder: string;
      extra: Record<string, string>;
      code: string;
      file: string;
      tensor: string;
    }[] = [
      {
        folder: 'missing-shard',
        extra: { b: 's2.safetensors' },
        code: 'SAFETENSORS_MISSING_SHARD',
        file: 's2.safetensors',
        tensor: 'b',
      },
      {
        folder: 'missing-tensor',
        extra: { ghost: 's1.safetensors' },
        code: 'SAFETENSORS_MISSING_TENSOR',
        file: 's1.safetensors',
        tensor: 'ghost',
      },
    ];
    for (const c of cases) {
      const d = await indexedFolder(c.folder, { a: 's1.safetensors', ...c.extra });
      const e = await expectCode(() => readSafetensorsFolder(d), c.code, c.file, `'${c.tensor}'`);
      expect([e.file, e.tensor]).toEqual([join(d, c.file), c.tensor]);
    }
  });

  it('rejects a bad index and an empty folder', async () => {
    const d = join(dir, 'bad-index');
    await writeSafetensorsFile(join(d, 'unused.safetensors'), {});
    await writeFile(join(d, 'model.safetensors.index.json'), '{"weight_map": 3}');
    await expectCode(() => readSafetensorsFolder(d), 'SAFETENSORS_BAD_INDEX', 'weight_map');
    await expectCode(
      () => readSafetensorsFolder(join(dir, 'nothing-here')),
      'SAFETENSORS_NOT_FOUND',
      'model.safetensors',
    );
  });
});
