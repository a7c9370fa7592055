import type { EngineEvent, EngineLoad, RequestHandle } from './engine.js';

/** A single-consumer async queue of one request's events; ends after `done` or `error`. */
class EventQueue implements AsyncIterable<EngineEvent> {
  private readonly buffered: EngineEvent[] = [];
  private pending: ((result: IteratorResult<EngineEvent>) => void) | null = null;
  private ended = false;

  push(event: EngineEvent): void {
    if (this.ended) return;
    if (event.type === 'done' || event.type === 'error') this.ended = true;
    const pending = this.pending;
    if (pending) {
      this.pending = null;
      pending({ value: event, done: false });
    } else {
      this.buffered.push(event);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    let finished = false;
    return {
      next: () => {
        const event = this.buffered.shift();
        if (event) return Promise.resolve({ value: event, done: false });
        if (finished || this.ended) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => {
          this.pending = resolve;
        });
      },
      return: () => {
        finished = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * The thread-side bookkeeping every engine shares: one queue per request, and the running/waiting counts
 * derived from the events (a request is waiting until `started`, running until `done`/`error`). Because every
 * request ends with exactly one terminal event, the counts cannot leak.
 */
export class EventRouter {
  private readonly queues = new Map<string, { queue: EventQueue; started: boolean }>();

  open(requestId: string, cancel: () => void): RequestHandle {
    const queue = new EventQueue();
    this.queues.set(requestId, { queue, started: false });
    let cancelled = false;
    return {
      events: queue,
      cancel: () => {
        if (cancelled || !this.queues.has(requestId)) return;
        cancelled = true;
        cancel();
      },
    };
  }

  deliver(requestId: string, event: EngineEvent): void {
    const entry = this.queues.get(requestId);
    if (!entry) return;
    if (event.type === 'started') entry.started = true;
    if (event.type === 'done' || event.type === 'error') this.queues.delete(requestId);
    entry.queue.push(event);
  }

  /** Ends every open request with an error (the inference thread died). */
  failAll(code: string, message: string): void {
    for (const id of [...this.queues.keys()]) {
      this.deliver(id, { type: 'error', code, message, badRequest: false });
    }
  }

  occupancy(): EngineLoad {
    let running = 0;
    for (const entry of this.queues.values()) if (entry.started) running++;
    return { running, waiting: this.queues.size - running };
  }

  get size(): number {
    return this.queues.size;
  }
}
