import { describe, expect, it } from 'vitest';
import {
  CompositeDrafter,
  generate,
  greedyToken,
  PromptLookupDrafter,
  SpeculativeBatch,
  SpeculativeError,
  TokenRecyclingDrafter,
} from '../src/index.js';
import { collect, drafterFactories, prompts, toyTarget, vocabSize } from './fixtures.js';

const target = toyTarget();

/** Plain greedy decoding written out by hand: prefill, then argmax and step. */
async function referenceGreedy(prompt: Int32Array, count: number): Promise<number[]> {
  const state = target.newState();
  let [out] = await target.prefill([{ state, tokens: prompt }]);
  const tokens: number[] = [];
  for (let k = 0; k < count; k++) {
    const token = greedyToken(out.logits, 0, vocabSize);
    tokens.push(token);
    [out] = await target.step([{ state, token }]);
  }
  return tokens;
}

/** Two letters per token, so stop strings can start inside a token. */
const decoder = {
  decode: (ids: readonly number[]) =>
    ids.map((t) => String.fromCharCode(97 + (t % 26)) + String.fromCharCode(65 + (t % 7))).join(''),
};

describe('the generation loop', () => {
  it('plain decoding is the hand-written greedy loop', async () => {
    const inputs = prompts(3);
    const { tokens } = await collect(target, inputs, { maxTokens: 30 });
    for (let i = 0; i < inputs.length; i++) expect(tokens[i]).toEqual(await referenceGreedy(inputs[i], 30));
  });

  it('EOS ends one sequence without disturbing the others', async () => {
    const inputs = prompts(4);
    const plain = (await collect(target, inputs, { maxTokens: 40 })).tokens;
    const eos = plain[0][12];
    const make = drafterFactories(target).composite;
    const { tokens } = await collect(target, inputs, { maxTokens: 40, eosTokenIds: [eos], drafter: make() });
    plain.forEach((expected, i) => {
      const cut = expected.indexOf(eos);
      expect(tokens[i]).toEqual(cut < 0 ? expected : expected.slice(0, cut));
    });
    expect(tokens[0].length).toBeLessThanOrEqual(12);
    expect(tokens.some((t) => t.length === 40)).toBe(true);
  });

  it('stop strings never leak into the streamed text, and the text before them is kept', async () => {
    const inputs = prompts(3);
    const plain = (await collect(target, inputs, { maxTokens: 40 })).tokens;
    const fullText = decoder.decode(plain[1]);
    // Starts mid-token (odd offset) and spans several tokens.
    const stop = fullText.slice(21, 26);
    const run = generate(target, inputs, {
      maxTokens: 40,
      stop: [stop, 'never-there'],
      decoder,
      drafter: new PromptLookupDrafter(),
    });
    const streamed = await Promise.all(
      run.sequences.map(async (s) => {
        let text = '';
        for await (const t of s) text += t.text;
        return text;
      }),
    );
    const results = await Promise.all(run.sequences.map((s) => s.result));
    results.forEach((result, i) => {
      const full = decoder.decode(plain[i]);
      const at = full.indexOf(stop);
      expect(streamed[i]).toBe(at < 0 ? full : full.slice(0, at));
      expect(result.text).toBe(streamed[i]);
      expect(streamed[i].includes(stop)).toBe(false);
      expect(result.finishReason).toBe(at < 0 ? 'length' : 'stop');
    });
    expect(results[1].finishReason).toBe('stop');
  });

  it('an abort from a timer lands between rounds even when model calls resolve through microtasks only', async () => {
    // The toy model never touches a macrotask (like onnxruntime-web in a Worker): the loop itself must yield.
    const controller = new AbortController();
    const run = generate(target, prompts(1), { maxTokens: 5000, signal: controller.signal });
    setTimeout(() => controller.abort(), 0);
    const result = await run.sequences[0].result;
    expect(result.finishReason).toBe('abort');
    expect(result.tokens.length).toBeLessThan(5000);
  });

  it('abort stops every sequence within one round', async () => {
    const controller = new AbortController();
    const maxDraftNodes = 16;
    const run = generate(target, prompts(3), {
      maxTokens: 200,
      signal: controller.signal,
      drafter: new TokenRecyclingDrafter({ vocabSize }),
      maxDraftNodes,
    });
    let seen = 0;
    let passesAtAbort = 0;
    let afterAbort = 0;
    for await (const _ of run.sequences[0]) {
      seen++;
      if (seen === 10) {
        controller.abort();
        passesAtAbort = target.calls.verify + target.calls.step;
      } else if (seen > 10) afterAbort++;
    }
    const results = await Promise.all(run.sequences.map((s) => s.result));
    expect(results.map((r) => r.finishReason)).toEqual(['abort', 'abort', 'abort']);
    // At most the round in flight completes: one more target pass, at most a tree's worth of tokens.
    expect(target.calls.verify + target.calls.step - passesAtAbort).toBeLessThanOrEqual(1);
    expect(afterAbort).toBeLessThanOrEqual(maxDraftNodes + 1);
    expect(results[0].tokens.length).toBeLessThan(200);
  });

  it('sequences join and leave between rounds without changing each other', async () => {
    const [a, b, c] = prompts(3);
    const batch = new SpeculativeBatch(target, {
      drafter: new CompositeDrafter([new PromptLookupDrafter(), new TokenRecyclingDrafter({ vocabSize })]),
    });
    const produced = new Map<number, number[]>();
    const run = async () => {
      for (const e of await batch.runRound())
        produced.set(e.sequenceId, [...(produced.get(e.sequenceId) ?? []), ...e.tokens.map((t) => t.token)]);
    };
    const idA = batch.add({ prompt: a, maxTokens: 30 });
    await run();
    await run();
    const idB = batch.add({ prompt: b, maxTokens: 30 });
    await run();
    const idC = batch.add({ prompt: c, maxTokens: 30 });
    await run();
    const removed = batch.remove(idA);
    expect(removed?.finishReason).toBe('abort');
    while (batch.size > 0) await run();
    const expectedA = await referenceGreedy(a, 30);
    expect(removed?.tokens).toEqual(expectedA.slice(0, removed?.tokens.length));
    expect(produced.get(idB)).toEqual(await referenceGreedy(b, 30));
    expect(produced.get(idC)).toEqual(await referenceGreedy(c, 30));
    expect(batch.remove(idA)).toBeUndefined();
  });

  it('rejects bad options with actionable errors', () => {
    const batch = new SpeculativeBatch(target);
    expect(() => batch.add({ prompt: [] })).toThrow(SpeculativeError);
    expect(() => batch.add({ prompt: [vocabSize] })).toThrow(/outside the model's vocabulary/);
    expect(() => batch.add({ prompt: [1], temperature: -1 })).toThrow(/temperature/);
    expect(() => batch.add({ prompt: [1], stop: ['x'] })).toThrow(/decoder/);
    try {
      batch.add({ prompt: [1], topP: 2 });
    } catch (error) {
      expect((error as SpeculativeError).code).toBe('INVALID_OPTION');
    }
  });

  it('reports acceptance metrics that add up', async () => {
    const { metrics } = await collect(target, prompts(3), {
      maxTokens: 40,
      drafter: new PromptLookupDrafter(),
      adaptive: false,
      maxDraftNodes: 8,
    });
    expect(metrics.emittedTokens).toBe(metrics.targetPasses + metrics.acceptedTokens);
    expect(metrics.acceptedTokens).toBeLessThanOrEqual(metrics.draftedTokens);
    expect(metrics.acceptedAtDepth[0]).toBeLessThanOrEqual(metrics.proposedAtDepth[0]);
    expect(metrics.acceptedAtDepth.reduce((a, b) => a + b, 0)).toBe(metrics.acceptedTokens);
  });

  it('a seeded sampling call gives the same tokens however long its passes take', async () => {
    // The same model with verify passes of random duration: measured costs would differ run to run.
    let tick = 7;
    const slow = new Proxy(target, {
      get(model, key) {
        const value = Reflect.get(model, key);
        if (key !== 'verify') return typeof value === 'function' ? value.bind(model) : value;
        return async (...args: Parameters<typeof model.verify>) => {
          tick = (tick * 31 + 11) % 97;
          await new Promise((resolve) => setTimeout(resolve, tick % 6));
          return model.verify(...args);
        };
      },
    });
    const options = { maxTokens: 30, temperature: 0.9, seed: 5 };
    const first = await collect(target, prompts(3), {
      ...options,
      drafter: drafterFactories(target)['draft-model'](),
    });
    const second = await collect(slow, prompts(3), {
      ...options,
      drafter: drafterFactories(target)['draft-model'](),
    });
    expect(second.metrics.acceptedTokens).toBeGreaterThan(0);
    expect(second.tokens).toEqual(first.tokens);
  });
});
