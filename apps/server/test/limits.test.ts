import { afterEach, describe, expect, it } from 'vitest';
import { FakeCore } from '../src/fake-core.js';
import { LocalEngine } from '../src/local-engine.js';
import { FAKE_MODEL, metricValue, postJson, startTestServer, type TestServer, waitFor } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

async function start(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const server = await startTestServer(...args);
  servers.push(server);
  return server;
}

const completion = (maxTokens: number, extra: Record<string, unknown> = {}) => ({
  model: FAKE_MODEL,
  prompt: 'limits',
  max_tokens: maxTokens,
  ...extra,
});

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ code });
  expect(typeof body.error.message).toBe('string');
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
}

describe('limits and lifecycle', () => {
  it('answers 429 with Retry-After when every slot and queue place is taken', async () => {
    const server = await start({ maxBatch: 2, maxQueue: 2 }, { fakeCore: { roundMs: 5 } });
    const url = `${server.url}/v1/completions`;
    const running = Array.from({ length: 4 }, () => postJson(url, completion(100)));
    await waitFor(async () => server.engine.occupancy().running + server.engine.occupancy().waiting === 4);
    const rejected = await postJson(url, completion(5));
    expect(rejected.headers.get('retry-after')).toMatch(/^\d+$/);
    await expectError(rejected, 429, 'queue_full');
    const answers = await Promise.all(running);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // Room again once they finish.
    expect((await postJson(url, completion(5))).status).toBe(200);
    expect(await metricValue(server.url, 'densessm:requests_rejected_total', 'status="429"')).toBe(1);
  });

  it('answers 413 above the body limit, declared or chunked', async () => {
    const server = await start({ bodyLimitBytes: 4096 });
    const url = `${server.url}/v1/completions`;
    await expectError(
      await postJson(url, completion(5, { prompt: 'x'.repeat(5000) })),
      413,
      'request_too_large',
    );
    const chunks = [
      new TextEncoder().encode('{"model":"densessm-fake","prompt":"'),
      new Uint8Array(8000).fill(120),
    ];
    const streamed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await expectError(streamed, 413, 'request_too_large');
    expect((await postJson(url, completion(3))).status).toBe(200);
  });

  it('caps max_tokens and reports prompts longer than the context as 400', async () => {
    const server = await start({ maxTokensCap: 64 }, { fakeCore: { contextLength: 70 } });
    const url = `${server.url}/v1/completions`;
    await expectError(await postJson(url, completion(65)), 400, 'invalid_value');
    expect((await postJson(url, completion(64))).status).toBe(200);
    const long = completion(60, { prompt: 'word '.repeat(20) });
    await expectError(await postJson(url, long), 400, 'context_length_exceeded');
    const streamed = completion(60, { prompt: 'word '.repeat(20), stream: true });
    await expectError(await postJson(url, streamed), 400, 'context_length_exceeded');
  });

  it('answers 503 on /health and the API while the model loads, then serves', async () => {
    let finishLoading!: () => void;
    const loaded = new Promise<void>((resolve) => {
      finishLoading = resolve;
    });
    const engine = new LocalEngine(
      async () => {
        await loaded;
        return new FakeCore({ modelId: FAKE_MODEL, roundMs: 0 });
      },
      { maxBatch: 4 },
    );
    const server = await start({}, { engine, waitReady: false });
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'loading' });
    await expectError(await postJson(`${server.url}/v1/completions`, completion(3)), 503, 'model_loading');
    await expectError(await fetch(`${server.url}/v1/models`), 503, 'model_loading');
    finishLoading();
    await server.ready;
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await postJson(`${server.url}/v1/completions`, completion(3))).status).toBe(200);
  });

  it('answers 404 and 405 with OpenAI error bodies', async () => {
    const server = await start();
    await expectError(await fetch(`${server.url}/v1/nothing`), 404, 'not_found');
    await expectError(await fetch(`${server.url}/v1/chat/completions`), 405, 'method_not_allowed');
    await expectError(await fetch(`${server.url}/health`, { method: 'POST' }), 405, 'method_not_allowed');
  });

  it('keeps the HTTP thread responsive while the inference thread is busy', async () => {
    // Each round blocks the inference thread for 40 ms, as a synchronous onnxruntime run would.
    const server = await start({ maxBatch: 4 }, { fakeCore: { roundMs: 40 } });
    const busy = Array.from({ length: 4 }, () => postJson(`${server.url}/v1/completions`, completion(15)));
    await waitFor(() => server.engine.occupancy().running === 4);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      latencies.push(performance.now() - started);
    }
    await Promise.all(busy);
    latencies.sort((a, b) => a - b);
    expect(latencies[latencies.length - 1]).toBeLessThan(40);
  });

  it('shuts down gracefully: running requests finish, new ones are refused', async () => {
    const server = await start({}, { fakeCore: { roundMs: 10, maxDraftLength: 0 } });
    const inFlight = postJson(`${server.url}/v1/completions`, completion(20, { stream: true }));
    const response = await inFlight;
    expect(response.status).toBe(200);
    const closing = server.close(5000);
    expect(server.status()).toBe('draining');
    const body = await response.text();
    await closing;
    expect(body).toContain('"finish_reason":"length"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('cancels what is still running when the grace period ends', async () => {
    const server = await start({}, { fakeCore: { roundMs: 10, maxDraftLength: 0 } });
    const response = await postJson(`${server.url}/v1/completions`, completion(1000, { stream: true }));
    const closed = server.close(50);
    const body = await response.text();
    await closed;
    expect(body).toContain('"finish_reason":"abort"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('fails in-flight requests with 503 and reports failed health when the inference thread dies', async () => {
    const server = await start({}, { fakeCore: { roundMs: 5, crashAtRound: 5 } });
    const streamed = await postJson(`${server.url}/v1/completions`, completion(500, { stream: true }));
    expect(streamed.status).toBe(200);
    const body = await streamed.text();
    expect(body).toContain('"code":"engine_failed"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(server.status()).toBe('failed');
    expect((await fetch(`${server.url}/health`)).status).toBe(503);
    await expectError(await postJson(`${server.url}/v1/completions`, completion(3)), 503, 'engine_failed');
    expect(server.engine.occupancy()).toEqual({ running: 0, waiting: 0 });
  });
});
