import { availableParallelism } from 'node:os';
import { negGraph } from '@densessm/backend-conformance';
import { BackendError, float32 } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';
import { createNodeBackend } from '../src/index.js';

// onnxruntime logs (at error level) the CUDA provider library it cannot load in the fallback test below; this
// file's first backend sets the process-wide level before any session exists, so the expected failure stays quiet.
createNodeBackend({ logLevel: 'fatal' });

describe('createNodeBackend options', () => {
  it('defaults to os.availableParallelism() threads and the CPU provider', async () => {
    const b = createNodeBackend();
    expect(b.name).toBe('onnxruntime-node');
    expect(b.threads).toBe(availableParallelism());
    expect(b.executionProviders).toEqual(['cpu']);
    expect(b.availableExecutionProviders).toContain('cpu');
    const s = await b.createSession(negGraph(), { name: 'n', threads: 1 });
    expect(s.name).toBe('n');
    expect(s.executionProviders).toEqual(['cpu']);
    expect(Array.from((await s.run({ a: float32([2], [1, -2]) })).y.data as Float32Array)).toEqual([-1, 2]);
    await s.release();
    await s.release(); // idempotent
  });

  it('rejects bad thread counts and unknown providers', () => {
    const code = (c: string) => expect.objectContaining({ name: 'BackendError', code: c });
    expect(() => createNodeBackend({ threads: 0 })).toThrow(code('INVALID_OPTION'));
    expect(() => createNodeBackend({ threads: 1.5 })).toThrow(code('INVALID_OPTION'));
    expect(() => createNodeBackend({ executionProviders: ['no-such-ep'] })).toThrow(code('EP_UNAVAILABLE'));
    expect(() => createNodeBackend({ threads: 0 })).toThrow(BackendError);
  });

  it('always keeps cpu as the last provider', () => {
    expect(createNodeBackend({ executionProviders: ['webgpu'] }).executionProviders).toEqual([
      'webgpu',
      'cpu',
    ]);
    expect(createNodeBackend({ executionProviders: ['CPU'] }).executionProviders).toEqual(['cpu']);
  });

  it('falls back to cpu when a requested provider cannot start, or refuses when strict', async () => {
    // CUDA's provider library is not shipped in the npm package (postinstall would fetch it), so it cannot start
    // unless someone installed it; then the session simply runs on it.
    const lenient = createNodeBackend({ executionProviders: ['cuda'] });
    const s = await lenient.createSession(negGraph(), { name: 'maybe-cuda' });
    const onCuda = s.executionProviders.includes('cuda');
    if (!onCuda) expect(s.executionProviders).toEqual(['cpu']);
    expect(Array.from((await s.run({ a: float32([2], [3, 4]) })).y.data as Float32Array)).toEqual([-3, -4]);
    await s.release();
    if (!onCuda) {
      const strict = createNodeBackend({ executionProviders: ['cuda'], strictExecutionProviders: true });
      await expect(strict.createSession(negGraph(), { name: 'strict' })).rejects.toMatchObject({
        code: 'EP_UNAVAILABLE',
      });
    }
    // a broken model is still reported as INVALID_MODEL, not as a provider problem
    await expect(lenient.createSession(new Uint8Array([1, 2, 3]), { name: 'bad' })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
    });
  });
});
