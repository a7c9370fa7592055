import { negGraph } from '@densessm/backend-conformance';
import { BackendError, float32 } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';
import { createWebBackend, isWebGpuAvailable } from '../src/index.js';

describe('createWebBackend options', () => {
  it('has no WebGPU in Node and falls back to wasm by default', async () => {
    expect(await isWebGpuAvailable()).toBe(false);
    const b = createWebBackend();
    expect(b.name).toBe('onnxruntime-web');
    expect(await b.executionProviders).toEqual(['wasm']);
    const s = await b.createSession(negGraph(), { name: 'n' });
    expect(s.executionProviders).toEqual(['wasm']);
    expect(Array.from((await s.run({ a: float32([2], [1, -2]) })).y.data as Float32Array)).toEqual([-1, 2]);
    await s.release();
  });

  it('refuses WebGPU-only where there is no WebGPU', async () => {
    const b = createWebBackend({ executionProviders: ['webgpu'] });
    await expect(b.executionProviders).rejects.toMatchObject({ code: 'EP_UNAVAILABLE' });
    await expect(b.createSession(negGraph())).rejects.toBeInstanceOf(BackendError);
  });

  it('rejects bad options', () => {
    expect(() => createWebBackend({ threads: 0 })).toThrow(BackendError);
    expect(() => createWebBackend({ executionProviders: ['cuda' as never] })).toThrow(/not supported/);
  });

  it('queues concurrent session creation and runs', async () => {
    const b = createWebBackend({ executionProviders: ['wasm'] });
    const sessions = await Promise.all(
      Array.from({ length: 4 }, (_, i) => b.createSession(negGraph(), { name: `s${i}` })),
    );
    const results = await Promise.all(
      sessions.flatMap((s, i) => [s.run({ a: float32([2], [i, 1]) }), s.run({ a: float32([2], [1, i]) })]),
    );
    results.forEach((r, k) => {
      const i = k >> 1;
      expect(Array.from(r.y.data as Float32Array)).toEqual(k % 2 === 0 ? [-i, -1] : [-1, -i]);
    });
    await Promise.all(sessions.map((s) => s.release()));
  });
});
