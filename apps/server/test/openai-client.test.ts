import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODEL, startTestServer, type TestServer } from './helpers.js';

/** The official `openai` npm client, unchanged, against a live server on 127.0.0.1. */
describe('openai client against the server', () => {
  let server: TestServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startTestServer({ apiKey: 'test-key-123456' });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test-key-123456', maxRetries: 0 });
  });
  afterAll(async () => {
    await server.close(1000);
  });

  it('lists and retrieves the served model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([FAKE_MODEL]);
    const model = await client.models.retrieve(FAKE_MODEL);
    expect(model.id).toBe(FAKE_MODEL);
    await expect(client.models.retrieve('nope')).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });

  it('answers a chat completion with usage and timings', async () => {
    const response = await client.chat.completions.create({
      model: FAKE_MODEL,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Name a state space model.' },
      ],
      max_tokens: 9,
      temperature: 0,
    });
    expect(response.object).toBe('chat.completion');
    expect(response.choices).toHaveLength(1);
    const choice = response.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content?.split(' ')).toHaveLength(9);
    expect(choice.finish_reason).toBe('length');
    expect(response.usage).toMatchObject({ completion_tokens: 9 });
    expect(response.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(response.usage!.total_tokens).toBe(response.usage!.prompt_tokens + 9);
    const timings = (response as unknown as { timings: Record<string, number | string | null> }).timings;
    expect(timings.predicted_n).toBe(9);
    expect(timings.predicted_per_second).toBeGreaterThan(0);
    expect(timings.drafter).toBe('fake-lookahead');
    expect(timings.mean_accepted_length).toBeGreaterThanOrEqual(1);
  });

  it('streams chat chunks that add up to the non-streamed answer, then usage', async () => {
    const request = {
      model: FAKE_MODEL,
      messages: [{ role: 'user' as const, content: 'Stream me something.' }],
      max_tokens: 20,
      temperature: 0,
    };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let role: string | undefined;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      role ??= choice.delta.role;
      text += choice.delta.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    expect(role).toBe('assistant');
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe('length');
    expect(usage).toEqual(whole.usage);
  });

  it('answers plain completions, streamed and not', async () => {
    const request = { model: FAKE_MODEL, prompt: 'Once upon a time', max_tokens: 7, temperature: 0 };
    const whole = await client.completions.create(request);
    expect(whole.object).toBe('text_completion');
    expect(whole.choices[0]!.text.split(' ')).toHaveLength(7);
    expect(whole.usage?.completion_tokens).toBe(7);
    const stream = await client.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]!.text);
    expect(usage).toEqual(whole.usage);
  });

  it('honours stop strings, streamed and not, and never leaks them', async () => {
    const base = { model: FAKE_MODEL, prompt: 'Stop strings test prompt', max_tokens: 40, temperature: 0 };
    const free = (await client.completions.create(base)).choices[0]!.text;
    const words = free.split(' ');
    // A stop string that starts inside word 5 and spans into word 6 (across a round boundary in most runs).
    const stop = `${words[4]!.slice(1)} ${words[5]!.slice(0, 2)}`;
    const expected = free.slice(0, free.indexOf(stop));
    const stopped = await client.completions.create({ ...base, stop: [stop, 'never-appears'] });
    expect(stopped.choices[0]!.text).toBe(expected);
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    const stream = await client.chat.completions.create({
      model: FAKE_MODEL,
      messages: [{ role: 'user', content: 'Stop strings test prompt' }],
      max_tokens: 40,
      temperature: 0,
      stream: true,
    });
    let full = '';
    for await (const chunk of stream) full += chunk.choices[0]?.delta.content ?? '';
    const chatStop = full.split(' ')[3]!;
    const chatStream = await client.chat.completions.create({
      model: FAKE_MODEL,
      messages: [{ role: 'user', content: 'Stop strings test prompt' }],
      max_tokens: 40,
      temperature: 0,
      stop: chatStop,
      stream: true,
    });
    let streamed = '';
    let finish: string | null = null;
    for await (const chunk of chatStream) {
      streamed += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(streamed).toBe(full.slice(0, full.indexOf(chatStop)));
    expect(streamed).not.toContain(chatStop);
    expect(finish).toBe('stop');
  });

  it('gives the same sampled text for the same seed, and accepts the drafter extension field', async () => {
    const request = {
      model: FAKE_MODEL,
      messages: [{ role: 'user' as const, content: 'Sample with a seed.' }],
      max_tokens: 12,
      temperature: 0.8,
      top_p: 0.9,
      seed: 1234,
    };
    const a = await client.chat.completions.create(request);
    const b = await client.chat.completions.create(request);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    const plain = await client.chat.completions.create({ ...request, drafter: 'none' } as typeof request);
    expect((plain as unknown as { timings: { drafter: string; draft_n: number } }).timings).toMatchObject({
      drafter: 'none',
      draft_n: 0,
    });
  });

  it('maps bad input to the client library error classes', async () => {
    await expect(
      client.chat.completions.create({ model: FAKE_MODEL, messages: [], max_tokens: 5 }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(
      client.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong-key-000000', maxRetries: 0 });
    await expect(wrongKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    // /health stays open without a key; /metrics does not.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });
});
