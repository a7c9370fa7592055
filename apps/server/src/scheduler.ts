import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type BatchCore, CoreRequestError, type CoreSequence } from './core.js';
import type { EngineEvent, EngineRequest } from './engine.js';

export interface BatchSchedulerOptions {
  /** Sequences in the running batch at most; the rest wait in arrival order. */
  maxBatch: number;
}

interface RunningEntry {
  readonly request: EngineRequest;
  readonly sequence: CoreSequence;
  completionTokens: number;
  cancelled: boolean;
}

/**
 * Continuous batching (the Orca idea, at speculative-round granularity): between two rounds, finished and
 * cancelled sequences leave the batch and waiting ones are prefilled and join it, so a long request never holds
 * a short one back and a freed slot is reused at the next round. Runs on the inference thread; between rounds
 * it yields to that thread's event loop so cancel and submit messages are seen within one round.
 */
export class BatchScheduler {
  private readonly waiting: EngineRequest[] = [];
  private readonly running = new Map<string, RunningEntry>();
  /** Requests being prefilled right now, and whether a cancel arrived meanwhile. */
  private readonly admitting = new Map<string, boolean>();
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly loopDone: Promise<void>;

  constructor(
    private readonly core: BatchCore,
    private readonly options: BatchSchedulerOptions,
    private readonly emit: (requestId: string, event: EngineEvent) => void,
  ) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    }
    this.loopDone = this.loop();
  }

  get runningCount(): number {
    return this.running.size + this.admitting.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  submit(request: EngineRequest): void {
    if (this.closed) {
      this.emit(request.id, {
        type: 'error',
        code: 'shutting_down',
        message: 'The engine is shutting down.',
        badRequest: false,
      });
      return;
    }
    this.waiting.push(request);
    this.wakeUp();
  }

  cancel(requestId: string): void {
    const index = this.waiting.findIndex((r) => r.id === requestId);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      this.emit(requestId, {
        type: 'done',
        finishReason: 'cancelled',
        promptTokens: 0,
        completionTokens: 0,
        speculation: null,
      });
      return;
    }
    if (this.admitting.has(requestId)) this.admitting.set(requestId, true);
    const entry = this.running.get(requestId);
    if (entry) entry.cancelled = true;
  }

  /** Cancels everything (queued and running), waits for the current round to end, stops the loop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const request of this.waiting.splice(0)) {
      this.emit(request.id, {
        type: 'done',
        finishReason: 'cancelled',
        promptTokens: 0,
        completionTokens: 0,
        speculation: null,
      });
    }
    for (const id of this.admitting.keys()) this.admitting.set(id, true);
    for (const entry of this.running.values()) entry.cancelled = true;
    this.wakeUp();
    await this.loopDone;
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.waiting.length === 0 && this.running.size === 0) {
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      await this.admitWaiting();
      this.dropCancelled();
      await this.runRound();
      // Let cancel/submit messages (and, on a shared thread, HTTP work) in between rounds.
      await yieldToEventLoop();
    }
  }

  private async admitWaiting(): Promise<void> {
    const free = this.options.maxBatch - this.running.size;
    if (free <= 0 || this.waiting.length === 0) return;
    const joining = this.waiting.splice(0, free);
    for (const request of joining) this.admitting.set(request.id, false);
    let results: (CoreSequence | CoreRequestError)[];
    const prefillStart = performance.now();
    try {
      results = await this.core.admit(joining);
    } catch (error) {
      results = joining.map(() => new CoreRequestError('prefill_failed', describe(error)));
    }
    const prefillMs = performance.now() - prefillStart;
    joining.forEach((request, i) => {
      const cancelled = this.admitting.get(request.id) === true;
      this.admitting.delete(request.id);
      const result = results[i];
      if (result === undefined || result instanceof CoreRequestError) {
        const failure = result ?? new CoreRequestError('prefill_failed', 'The core returned no sequence.');
        this.emit(request.id, {
          type: 'error',
          code: failure.code,
          message: failure.message,
          badRequest: failure.code !== 'prefill_failed',
        });
        return;
      }
      if (cancelled) {
        const speculation = this.core.release(result);
        this.emit(request.id, {
          type: 'done',
          finishReason: 'cancelled',
          promptTokens: result.promptTokens,
          completionTokens: 0,
          speculation,
        });
        return;
      }
      this.running.set(request.id, { request, sequence: result, completionTokens: 0, cancelled: false });
      this.emit(request.id, {
        type: 'started',
        promptTokens: result.promptTokens,
        drafter: result.drafter,
        prefillMs,
      });
    });
  }

  private dropCancelled(): void {
    for (const [id, entry] of this.running) {
      if (entry.cancelled) this.finish(id, entry, 'cancelled');
    }
  }

  private finish(id: string, entry: RunningEntry, finishReason: 'stop' | 'length' | 'cancelled'): void {
    this.running.delete(id);
    const speculation = this.core.release(entry.sequence);
    this.emit(id, {
      type: 'done',
      finishReason,
      promptTokens: entry.sequence.promptTokens,
      completionTokens: entry.completionTokens,
      speculation,
    });
  }

  private async runRound(): Promise<void> {
    const batch = [...this.running.entries()];
    if (batch.length === 0) return;
    let outputs: Awaited<ReturnType<BatchCore['round']>>;
    try {
      outputs = await this.core.round(batch.map(([, entry]) => entry.sequence));
    } catch (error) {
      for (const [id, entry] of batch) {
        this.running.delete(id);
        this.core.release(entry.sequence);
        this.emit(id, { type: 'error', code: 'round_failed', message: describe(error), badRequest: false });
      }
      return;
    }
    batch.forEach(([id, entry], i) => {
      const output = outputs[i]!;
      if (entry.cancelled) {
        // The cancel arrived during this round: its output is dropped and the slot freed now.
        this.finish(id, entry, 'cancelled');
        return;
      }
      entry.completionTokens += output.tokens;
      if (output.text.length > 0 || output.tokens > 0) {
        this.emit(id, { type: 'text', text: output.text, tokens: output.tokens });
      }
      if (output.finished) this.finish(id, entry, output.finished);
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
