import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  OrtSessionAdapter,
  type OrtSessionLike,
  type OrtTensorLike,
  validateFeeds,
} from '../src/backend-kit.js';
import { float32, int32, int64 } from '../src/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    return (e as BackendError).code;
  }
  return undefined;
}

describe('validateFeeds', () => {
  const specs = [
    { name: 'ids', dtype: 'int64', dims: ['batch', 'seq'] },
    { name: 'x', dtype: 'float32', dims: ['batch', 4] },
    { name: 'free', dtype: 'int32', dims: [-1] },
  ];
  const good = () => ({ ids: int64([2, 3]), x: float32([2, 4]), free: int32([5]) });

  it('accepts matching feeds', () => {
    expect(() => validateFeeds(specs, good(), 's')).not.toThrow();
    expect(() => validateFeeds(specs, { ...good(), free: int32([0]) }, 's')).not.toThrow();
  });

  it('names what is wrong', () => {
    const { ids, x } = good();
    expect(codeOf(() => validateFeeds(specs, { ids, x }, 's'))).toBe('MISSING_FEED');
    expect(codeOf(() => validateFeeds(specs, { ...good(), y: float32([1]) }, 's'))).toBe('UNKNOWN_FEED');
    expect(codeOf(() => validateFeeds(specs, { ...good(), ids: int32([2, 3]) }, 's'))).toBe('BAD_FEED');
    expect(codeOf(() => validateFeeds(specs, { ...good(), x: float32([3, 4]) }, 's'))).toBe('BAD_FEED');
    expect(codeOf(() => validateFeeds(specs, { ...good(), x: float32([2, 5]) }, 's'))).toBe('BAD_FEED');
    expect(codeOf(() => validateFeeds(specs, { ...good(), x: float32([8]) }, 's'))).toBe('BAD_FEED');
    const wrongArray = { dtype: 'float32', dims: [2, 4], data: new Float64Array(8) } as never;
    expect(codeOf(() => validateFeeds(specs, { ...good(), x: wrongArray }, 's'))).toBe('BAD_FEED');
    try {
      validateFeeds(specs, { ...good(), x: float32([3, 4]) }, 'step');
    } catch (e) {
      expect((e as Error).message).toBe(
        "session 'step': input 'x' expects float32 [batch, 4]: dim 0 ('batch') is 3 but 'ids' has batch = 2",
      );
      expect((e as BackendError).session).toBe('step');
    }
  });
});

/** A fake onnxruntime session: Neg on 'a', recording how many runs overlap. */
class FakeSession implements OrtSessionLike {
  readonly inputNames = ['a'];
  readonly outputNames = ['y', 'flag', 'half'];
  readonly inputMetadata = [{ name: 'a', isTensor: true, type: 'float32', shape: ['n'] }];
  active = 0;
  maxActive = 0;
  released = false;
  async run(
    feeds: Record<string, OrtTensorLike>,
    fetches?: readonly string[],
  ): Promise<Record<string, OrtTensorLike>> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await new Promise((r) => setTimeout(r, 2));
    this.active--;
    const a = feeds.a.data as Float32Array;
    if (a.length > 0 && Number.isNaN(a[0])) throw new Error('kernel exploded');
    const all: Record<string, OrtTensorLike> = {
      y: { type: 'float32', dims: feeds.a.dims, data: a.map((v) => -v) },
      flag: { type: 'bool', dims: [1], data: new Uint8Array(1) },
      half: {
        type: 'float16',
        dims: [1],
        data: { buffer: new ArrayBuffer(2), byteOffset: 0, length: 1, BYTES_PER_ELEMENT: 2 },
      },
    };
    return Object.fromEntries((fetches ?? this.outputNames).map((k) => [k, all[k]]));
  }
  async release(): Promise<void> {
    this.released = true;
  }
}

const makeTensor = (dtype: string, data: unknown, dims: readonly number[]): OrtTensorLike => ({
  type: dtype,
  data,
  dims,
});

describe('OrtSessionAdapter', () => {
  it('serialises runs when asked, and only then', async () => {
    for (const serialize of [true, false]) {
      const fake = new FakeSession();
      const s = new OrtSessionAdapter(fake, { name: 'f', makeTensor, serialize });
      const results = await Promise.all([1, 2, 3, 4].map((v) => s.run({ a: float32([1], [v]) }, ['y'])));
      expect(results.map((r) => (r.y.data as Float32Array)[0])).toEqual([-1, -2, -3, -4]);
      expect(fake.maxActive).toBe(serialize ? 1 : 4);
    }
  });

  it('keeps serving after a failed run, wraps the failure, converts outputs', async () => {
    const fake = new FakeSession();
    const s = new OrtSessionAdapter(fake, { name: 'f', makeTensor, serialize: true });
    const failed = s.run({ a: float32([1], [Number.NaN]) }, ['y']);
    const next = s.run({ a: float32([1], [5]) }, ['y']);
    await expect(failed).rejects.toMatchObject({
      code: 'RUN_FAILED',
      message: expect.stringContaining('kernel exploded'),
    });
    expect(((await next).y.data as Float32Array)[0]).toBe(-5);
    await expect(s.run({ a: float32([1]) }, ['flag'])).rejects.toMatchObject({ code: 'UNSUPPORTED_DTYPE' });
    const half = await s.run({ a: float32([1]) }, ['half']);
    expect(half.half.dtype).toBe('float16');
    expect(half.half.data).toBeInstanceOf(Uint16Array);
    await expect(s.run({ a: float32([1]) }, ['nope'])).rejects.toMatchObject({ code: 'UNKNOWN_OUTPUT' });
  });

  it('release waits for queued runs, then refuses new ones', async () => {
    const fake = new FakeSession();
    const s = new OrtSessionAdapter(fake, {
      name: 'f',
      makeTensor,
      serialize: true,
      executionProviders: ['wasm'],
    });
    expect(s.executionProviders).toEqual(['wasm']);
    const pending = s.run({ a: float32([1], [1]) }, ['y']);
    await s.release();
    expect(fake.released).toBe(true);
    expect(((await pending).y.data as Float32Array)[0]).toBe(-1);
    await expect(s.run({ a: float32([1], [1]) })).rejects.toMatchObject({ code: 'SESSION_RELEASED' });
  });

  it('does not keep run outputs alive once the caller drops them (both modes)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const serialize of [true, false]) {
      const s = new OrtSessionAdapter(new FakeSession(), { name: 'f', makeTensor, serialize });
      const refs: WeakRef<object>[] = [];
      for (let i = 0; i < 4; i++) refs.push(new WeakRef((await s.run({ a: float32([1024]) }, ['y'])).y.data));
      await new Promise((r) => setTimeout(r, 10));
      gc();
      await new Promise((r) => setTimeout(r, 0));
      gc();
      expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
      await s.release();
    }
  });

  it('release waits for concurrent runs too', async () => {
    const fake = new FakeSession();
    const s = new OrtSessionAdapter(fake, { name: 'f', makeTensor, serialize: false });
    const runs = [1, 2, 3].map((v) => s.run({ a: float32([1], [v]) }, ['y']));
    await s.release();
    expect(fake.active).toBe(0);
    expect((await Promise.all(runs)).map((r) => (r.y.data as Float32Array)[0])).toEqual([-1, -2, -3]);
  });
});
