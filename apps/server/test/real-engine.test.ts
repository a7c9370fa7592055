import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../src/local-engine.js';
import { createModelCore, type TextCodec } from '../src/model-core.js';
import { metricValue, postJson, startTestServer, type TestServer, waitFor } from './helpers.js';

/** PyTorch-parity fixture from training/ (dense_retnet, 3 layers, hidden 64, vocab 256). */
const MODEL = fileURLToPath(new URL('../../../training/fixtures/dense_retnet_m2', import.meta.url));
const MODEL_NAME = 'tiny-dense-retnet';

/**
 * A stand-in tokenizer for a vocabulary of 256: one token per Latin-1 character. The fixture ships no tokenizer
 * files, and this keeps every token's text stable (no partial UTF-8), which the assertions below rely on.
 */
const latin1Codec: TextCodec = {
  encode: (text) => Array.from(text, (ch) => Math.min(ch.charCodeAt(0), 255)),
  decode: (ids) => String.fromCharCode(...ids),
  eosTokenIds: [],
  renderChat: (messages) => `${messages.map((m) => `${m.role}: ${m.content}\n`).join('')}assistant: `,
};

describe('server over the real engine (tiny dense_retnet, onnxruntime-node)', () => {
  let server: TestServer;
  let client: OpenAI;

  beforeAll(async () => {
    const engine = new LocalEngine(
      () =>
        createModelCore(
          { kind: 'model', folder: MODEL, modelId: MODEL_NAME, threads: 1, defaultDrafter: 'auto' },
          latin1Codec,
        ),
      { maxBatch: 32 },
    );
    server = await startTestServer(
      { engine: 'model', modelPath: MODEL, modelName: MODEL_NAME, maxBatch: 32 },
      { engine },
    );
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await server.close(2000);
  });

  it('serves completions and chat through the openai client, streamed and not, with usage', async () => {
    const whole = await client.completions.create({
      model: MODEL_NAME,
      prompt: 'The state',
      max_tokens: 24,
      temperature: 0,
    });
    expect(whole.usage).toEqual({ prompt_tokens: 9, completion_tokens: 24, total_tokens: 33 });
    expect(whole.choices[0]!.text).toHaveLength(24);
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
    expect(chat.choices[0]!.message.content).toHaveLength(10);
    expect(chat.usage?.prompt_tokens).toBe('user: hi\nassistant: '.length);
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
    for (const drafter of ['none', 'lookup+recycling']) {
      const alone: string[] = [];
      for (const p of prompts) alone.push(await ask(p, drafter));
      const together = await Promise.all(prompts.map((p) => ask(p, drafter)));
      expect(together).toEqual(alone);
    }
    await waitFor(async () => (await metricValue(server.url, 'vllm:num_requests_running')) === 0);
    // The speculative run did speculate: drafts were verified and some were accepted.
    const drafted = (await metricValue(server.url, 'vllm:spec_decode_num_draft_tokens_total')) ?? 0;
    const accepted = (await metricValue(server.url, 'vllm:spec_decode_num_accepted_tokens_total')) ?? 0;
    expect(drafted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(drafted);
  });
});
