import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomCheckpoint } from '@densessm/models/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, postJson, startTestServer, type TestServer, waitFor } from './helpers.js';

/** The tokenizer the shipped models use (byte-level BPE, 8192 tokens, ChatML template). */
const TOKENIZER = fileURLToPath(new URL('../../../training/tokenizer/', import.meta.url));
const MODEL_NAME = 'tiny-dense-retnet';

/** A random-weight dense_retnet small enough to run in tests, with the real tokenizer beside it. */
async function tinyModelFolder(): Promise<string> {
  const folder = await randomCheckpoint(
    {
      model_type: 'dense_retnet',
      hidden_size: 64,
      query_key_dim: 32,
      num_attention_heads: 2,
      v_factor: 2,
      num_hidden_layers: 2,
      vocab_size: 8192,
      rms_norm_eps: 1e-6,
      dense_block_layers: 1,
    },
    7,
  );
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(TOKENIZER, file), join(folder, file));
  }
  return folder;
}

describe('server over the real engine (random dense_retnet + shipped tokenizer, worker thread)', () => {
  let server: TestServer;
  let client: OpenAI;
  let folder: string;

  beforeAll(async () => {
    folder = await tinyModelFolder();
    server = await startTestServer({
      engine: 'model',
      modelPath: folder,
      modelName: MODEL_NAME,
      maxBatch: 32,
      threads: 1,
    });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close(2000);
    await rm(folder, { recursive: true, force: true });
  });

  it('serves completions and chat through the openai client, streamed and not, with usage', async () => {
    const whole = await client.completions.create({
      model: MODEL_NAME,
      prompt: 'The state',
      max_tokens: 24,
      temperature: 0,
    });
    expect(whole.usage?.completion_tokens).toBe(24);
    expect(whole.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(whole.usage!.total_tokens).toBe(whole.usage!.prompt_tokens + 24);
    expect(whole.choices[0]!.finish_reason).toBe('length');
    const stream = await client.completions.create({
      model: MODEL_NAME,
      prompt: 'The state',
      max_tokens: 24,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(whole.choices[0]!.text);
    expect(usage).toEqual(whole.usage);

    const chat = await client.chat.completions.create({
      model: MODEL_NAME,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 10,
      temperature: 0.7,
      seed: 7,
    });
    expect(chat.usage?.completion_tokens).toBe(10);
    // The ChatML template wraps the one message: more prompt tokens than the two characters typed.
    expect(chat.usage!.prompt_tokens).toBeGreaterThan(4);
    const again = await client.chat.completions.create({
      model: MODEL_NAME,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 10,
      temperature: 0.7,
      seed: 7,
    });
    expect(again.choices[0]!.message.content).toBe(chat.choices[0]!.message.content);
  });

  it('honours stop strings on the real detokenized stream', async () => {
    const request = { model: MODEL_NAME, prompt: 'Stop here', max_tokens: 40, temperature: 0 };
    const free = (await client.completions.create(request)).choices[0]!.text;
    const stop = free.slice(10, 12);
    const expected = free.slice(0, free.indexOf(stop));
    const stopped = await client.completions.create({ ...request, stop });
    expect(stopped.choices[0]!.text).toBe(expected);
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    const stream = await client.completions.create({ ...request, stop, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    expect(streamed).toBe(expected);
  });

  it('returns for 32 concurrent greedy requests exactly what each returns alone', async () => {
    const prompts = Array.from({ length: 32 }, (_, i) => `Request ${i}: ${'ab'.repeat(i % 7)} the end`);
    const ask = (prompt: string, drafter: string) =>
      postJson(`${server.url}/v1/completions`, {
        model: MODEL_NAME,
        prompt,
        max_tokens: 20,
        temperature: 0,
        drafter,
      }).then(async (r) => {
        expect(r.status).toBe(200);
        return ((await r.json()) as { choices: { text: string }[] }).choices[0]!.text;
      });
    for (const drafter of ['none', 'auto']) {
      const alone: string[] = [];
      for (const p of prompts) alone.push(await ask(p, drafter));
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, server.engine.occupancy().running);
      }, 1);
      const together = await Promise.all(prompts.map((p) => ask(p, drafter)));
      clearInterval(sampler);
      expect(together).toEqual(alone);
      // They really were decoded together, not one after another.
      expect(peak).toBeGreaterThanOrEqual(8);
    }
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 0);
    // The speculative run did speculate: drafts were verified and some were accepted.
    const drafted = (await metricValue(server.url, 'vllm:spec_decode_num_draft_tokens_total')) ?? 0;
    const accepted = (await metricValue(server.url, 'vllm:spec_decode_num_accepted_tokens_total')) ?? 0;
    expect(drafted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(drafted);
  });

  it('frees the slot when a streaming client disconnects', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL_NAME, prompt: 'Go on forever', max_tokens: 2000, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let chunks = 0;
    while (chunks < 5) {
      await reader.read();
      chunks++;
    }
    expect(await metricValue(server.url, 'vllm:num_requests_running')).toBe(1);
    controller.abort();
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 0, 5000);
    const tokensBefore = (await metricValue(server.url, 'vllm:generation_tokens_total'))!;
    const after = await client.completions.create({
      model: MODEL_NAME,
      prompt: 'next',
      max_tokens: 8,
      temperature: 0,
    });
    expect(after.usage?.completion_tokens).toBe(8);
    // Only the new request generated: the cancelled one is gone from the batch.
    expect(await metricValue(server.url, 'vllm:generation_tokens_total')).toBe(tokensBefore + 8);
  });

  it('stops at every end-of-sequence id that generation_config.json lists', async () => {
    // Every id ends the sequence: the first generated token already does, so nothing is emitted.
    const copy = await mkdtemp(join(tmpdir(), 'densessm-server-eos-'));
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      await copyFile(join(folder, file), join(copy, file));
    }
    const all = Array.from({ length: 8192 }, (_, i) => i);
    await writeFile(join(copy, 'generation_config.json'), JSON.stringify({ eos_token_id: all }));
    const eosServer = await startTestServer({
      engine: 'model',
      modelPath: copy,
      modelName: MODEL_NAME,
      threads: 1,
    });
    try {
      const response = await postJson(`${eosServer.url}/v1/completions`, {
        model: MODEL_NAME,
        prompt: 'Anything',
        max_tokens: 20,
        temperature: 0,
      });
      const body = (await response.json()) as {
        choices: { text: string; finish_reason: string }[];
        usage: { completion_tokens: number };
      };
      expect(body.choices[0]).toMatchObject({ text: '', finish_reason: 'stop' });
      expect(body.usage.completion_tokens).toBe(0);
    } finally {
      await eosServer.close(1000);
      await rm(copy, { recursive: true, force: true });
    }
  });
});
