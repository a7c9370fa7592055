import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODEL, metricValue, postJson, startTestServer, type TestServer, waitFor } from './helpers.js';

interface ChatResponse {
  choices: { message: { content: string }; finish_reason: string }[];
  usage: { completion_tokens: number };
}

describe('continuous batching over HTTP', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ maxBatch: 8, maxQueue: 64 }, { fakeCore: { roundMs: 3 } });
  });
  afterAll(async () => {
    await server.close(1000);
  });

  const chat = (prompt: string, maxTokens: number) =>
    postJson(`${server.url}/v1/chat/completions`, {
      model: FAKE_MODEL,
      messages: [{ role: 'user', content: prompt }],
      max_tokens: maxTokens,
      temperature: 0,
    }).then(async (r) => {
      expect(r.status).toBe(200);
      return (await r.json()) as ChatResponse;
    });

  it('returns for 32 concurrent greedy requests exactly what each returns alone', async () => {
    const prompts = Array.from({ length: 32 }, (_, i) => `Prompt number ${i}: ${'word '.repeat(i % 5)}end`);
    const lengths = prompts.map((_, i) => 8 + ((i * 7) % 25));
    const alone: string[] = [];
    for (let i = 0; i < prompts.length; i++)
      alone.push((await chat(prompts[i]!, lengths[i]!)).choices[0]!.message.content);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, server.engine.occupancy().running);
    }, 1);
    const together = await Promise.all(prompts.map((p, i) => chat(p, lengths[i]!)));
    clearInterval(sampler);
    expect(peak).toBe(8);
    together.forEach((response, i) => {
      expect(response.choices[0]!.message.content).toBe(alone[i]);
      expect(response.usage.completion_tokens).toBe(lengths[i]);
    });
    // 32 requests through 8 slots: some had to wait, none leaked.
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 0);
    expect(await metricValue(server.url, 'vllm:num_requests_waiting')).toBe(0);
    expect(await metricValue(server.url, 'vllm:request_queue_time_seconds_count')).toBe(64);
  });

  it('frees the slot when a client disconnects mid-stream', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: FAKE_MODEL,
        messages: [{ role: 'user', content: 'a very long answer please' }],
        max_tokens: 2000,
        stream: true,
      }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('"content":"') || received.split('data:').length < 4) {
      const { value } = await reader.read();
      received += new TextDecoder().decode(value);
    }
    expect(await metricValue(server.url, 'vllm:num_requests_running')).toBe(1);
    const abortsBefore = (await metricValue(server.url, 'vllm:request_success_total', 'abort')) ?? 0;
    controller.abort();
    // Cancelled within a round or two (3 ms each), well before the 2000 tokens would have finished.
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 0, 2000);
    expect(await metricValue(server.url, 'vllm:request_success_total', 'abort')).toBe(abortsBefore + 1);
    const generated = await metricValue(server.url, 'vllm:generation_tokens_total');
    // A following request runs alone at full speed: its 40 tokens take a handful of 3 ms rounds.
    const started = performance.now();
    const next = await chat('after the disconnect', 40);
    const elapsed = performance.now() - started;
    expect(next.usage.completion_tokens).toBe(40);
    expect(elapsed).toBeLessThan(1000);
    expect(await metricValue(server.url, 'vllm:generation_tokens_total')).toBe(generated! + 40);
    expect(await metricValue(server.url, 'vllm:num_requests_running')).toBe(0);
  });

  it('cancels a non-streaming request whose client went away', async () => {
    const controller = new AbortController();
    const pending = fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: FAKE_MODEL, prompt: 'long one', max_tokens: 2000 }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 1, 2000);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 0, 2000);
  });

  it('exports the speculative and latency metrics under vLLM names', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:time_to_first_token_seconds_bucket',
      'vllm:time_per_output_token_seconds_bucket',
      'vllm:e2e_request_latency_seconds_bucket',
      'vllm:spec_decode_num_drafts_total',
      'vllm:spec_decode_num_draft_tokens_total',
      'vllm:spec_decode_num_accepted_tokens_total',
      'vllm:spec_decode_num_accepted_tokens_per_pos_total',
    ]) {
      expect(text).toContain(`${name}{`);
    }
    const drafted = await metricValue(server.url, 'vllm:spec_decode_num_draft_tokens_total');
    const accepted = await metricValue(server.url, 'vllm:spec_decode_num_accepted_tokens_total');
    const firstPosition = await metricValue(
      server.url,
      'vllm:spec_decode_num_accepted_tokens_per_pos_total',
      'position="0"',
    );
    expect(drafted).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(drafted!);
    expect(firstPosition).toBeGreaterThan(0);
    expect(firstPosition).toBeLessThanOrEqual(accepted!);
  });
});
