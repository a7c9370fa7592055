import { describe, expect, it } from 'vitest';
import type { EngineEvent, EngineRequest } from '../src/engine.js';
import { FakeCore } from '../src/fake-core.js';
import { BatchScheduler } from '../src/scheduler.js';

function request(id: string, maxTokens: number, prompt = `prompt ${id}`): EngineRequest {
  return {
    id,
    input: { kind: 'text', prompt },
    sampling: { temperature: 0, topP: 1, seed: null, maxTokens, stop: [] },
    drafter: 'none',
  };
}

/** A core that records every round's batch composition. */
class RecordingCore extends FakeCore {
  readonly rounds: string[][] = [];
  override async round(sequences: Parameters<FakeCore['round']>[0]) {
    this.rounds.push(sequences.map((s) => s.requestId));
    return super.round(sequences);
  }
}

function collect(events: Map<string, EngineEvent[]>) {
  return (id: string, event: EngineEvent) => {
    events.set(id, [...(events.get(id) ?? []), event]);
  };
}

async function settled(events: Map<string, EngineEvent[]>, ids: string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ids.every((id) => events.get(id)?.some((e) => e.type === 'done' || e.type === 'error'))) {
    if (Date.now() > deadline) throw new Error('requests did not finish');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('BatchScheduler', () => {
  it('lets requests join and leave between rounds, never exceeding the batch size', async () => {
    const core = new RecordingCore({ roundMs: 0, prefillMs: 0, maxDraftLength: 0 });
    const events = new Map<string, EngineEvent[]>();
    const scheduler = new BatchScheduler(core, { maxBatch: 2 }, collect(events));
    scheduler.submit(request('long', 6));
    scheduler.submit(request('short', 2));
    scheduler.submit(request('late', 3));
    await settled(events, ['long', 'short', 'late']);
    // 'late' waits for a slot, joins the round after 'short' leaves, and runs beside 'long'.
    expect(core.rounds.slice(0, 3)).toEqual([
      ['long', 'short'],
      ['long', 'short'],
      ['long', 'late'],
    ]);
    expect(Math.max(...core.rounds.map((r) => r.length))).toBe(2);
    for (const [id, n] of [
      ['long', 6],
      ['short', 2],
      ['late', 3],
    ] as const) {
      const done = events.get(id)!.at(-1)!;
      expect(done).toMatchObject({ type: 'done', finishReason: 'length', completionTokens: n });
      const text = events.get(id)!.filter((e) => e.type === 'text');
      expect(text.reduce((sum, e) => sum + (e.type === 'text' ? e.tokens : 0), 0)).toBe(n);
    }
    expect(core.liveSequences).toBe(0);
    await scheduler.close();
  });

  it('cancels waiting and running requests and frees their slots', async () => {
    const core = new FakeCore({ roundMs: 1, prefillMs: 0 });
    const events = new Map<string, EngineEvent[]>();
    const scheduler = new BatchScheduler(core, { maxBatch: 1 }, collect(events));
    scheduler.submit(request('running', 4000));
    scheduler.submit(request('queued', 5));
    await new Promise((r) => setTimeout(r, 20));
    scheduler.cancel('queued');
    expect(events.get('queued')).toEqual([
      { type: 'done', finishReason: 'cancelled', promptTokens: 0, completionTokens: 0, speculation: null },
    ]);
    scheduler.cancel('running');
    await settled(events, ['running']);
    expect(events.get('running')!.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect(core.liveSequences).toBe(0);
    expect(scheduler.runningCount).toBe(0);
    await scheduler.close();
  });

  it('reports a request the core refuses as a bad request, and keeps serving the others', async () => {
    const core = new FakeCore({ roundMs: 0, contextLength: 10 });
    const events = new Map<string, EngineEvent[]>();
    const scheduler = new BatchScheduler(core, { maxBatch: 4 }, collect(events));
    scheduler.submit(request('too-long', 5, 'one two three four five six seven'));
    scheduler.submit(request('fine', 3));
    await settled(events, ['too-long', 'fine']);
    expect(events.get('too-long')).toEqual([
      expect.objectContaining({ type: 'error', code: 'context_length_exceeded', badRequest: true }),
    ]);
    expect(events.get('fine')!.at(-1)).toMatchObject({ type: 'done', completionTokens: 3 });
    await scheduler.close();
  });

  it('turns a failing round into errors for that round only', async () => {
    let fail = true;
    const core = new FakeCore({ roundMs: 0 });
    const original = core.round.bind(core);
    core.round = async (sequences) => {
      if (fail) {
        fail = false;
        throw new Error('onnxruntime exploded');
      }
      return original(sequences);
    };
    const events = new Map<string, EngineEvent[]>();
    const scheduler = new BatchScheduler(core, { maxBatch: 4 }, collect(events));
    scheduler.submit(request('first', 3));
    await settled(events, ['first']);
    expect(events.get('first')!.at(-1)).toMatchObject({
      type: 'error',
      code: 'round_failed',
      badRequest: false,
    });
    scheduler.submit(request('second', 3));
    await settled(events, ['second']);
    expect(events.get('second')!.at(-1)).toMatchObject({ type: 'done', completionTokens: 3 });
    expect(core.liveSequences).toBe(0);
    await scheduler.close();
  });
});
