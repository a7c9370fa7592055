import type { Backend, Session } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';
import { SessionCache } from './session-cache.js';

function fakeBackend() {
  const created: string[] = [];
  const released: string[] = [];
  const backend: Backend = {
    name: 'fake',
    async createSession(_model, options) {
      const name = options?.name ?? '?';
      created.push(name);
      return {
        inputNames: [],
        outputNames: [],
        run: async () => ({}),
        release: async () => {
          released.push(name);
        },
      } satisfies Session;
    },
  };
  return { backend, created, released };
}

describe('SessionCache', () => {
  it('builds each key once, evicts the least recently used beyond the bound, releases on dispose', async () => {
    const { backend, created, released } = fakeBackend();
    const cache = new SessionCache(backend, {}, 2);
    const bytes = () => new Uint8Array(1);
    await cache.get('a', bytes);
    await cache.get('b', bytes);
    await cache.get('a', bytes); // a is now the most recent
    await cache.get('c', bytes); // evicts b
    await new Promise((r) => setTimeout(r, 0));
    expect(created).toEqual(['a', 'b', 'c']);
    expect(released).toEqual(['b']);
    expect(cache.size).toBe(2);
    await cache.get('b', bytes); // rebuilt, evicts a
    expect(created).toEqual(['a', 'b', 'c', 'b']);
    await cache.dispose();
    expect(released.sort()).toEqual(['a', 'b', 'b', 'c']);
    expect(() => cache.get('a', bytes)).toThrow(/disposed/);
  });
});
