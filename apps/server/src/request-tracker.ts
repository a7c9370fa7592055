import type { EngineEvent, FinishReason } from './engine.js';
import type { ServerMetrics } from './metrics.js';

/** Per-response speed and acceptance figures; names follow llama.cpp's server `timings` where it has one. */
export interface Timings {
  prompt_n: number;
  prompt_ms: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_second: number;
  queue_ms: number;
  ttft_ms: number;
  drafter: string;
  /** Verify rounds (target model passes) this request took part in. */
  rounds: number;
  draft_n: number;
  draft_n_accepted: number;
  acceptance_rate: number | null;
  /** Tokens per target pass (1 without speculation). */
  mean_accepted_length: number | null;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * Follows one request's events on the HTTP thread: feeds the Prometheus metrics (TTFT, per-token time, spec
 * counters) and accumulates the numbers of its `usage` and `timings`.
 */
export class RequestTracker {
  private startedAt: number | null = null;
  private firstTokenAt: number | null = null;
  private lastOutputAt: number | null = null;
  private prefillMs = 0;
  /** Prefill time already behind the `started` event (zero for cores that prefill inside the next round). */
  private prefillBeforeStart = 0;
  private promptTokens = 0;
  private completionTokens = 0;
  private rounds = 0;
  private draftTokens = 0;
  private acceptedTokens = 0;
  private drafter = 'none';
  finishReason: FinishReason | null = null;

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly arrivedAt: number = performance.now(),
  ) {}

  observe(event: EngineEvent, now = performance.now()): void {
    switch (event.type) {
      case 'started':
        this.startedAt = now;
        this.prefillMs = event.prefillMs;
        this.prefillBeforeStart = event.prefillMs;
        this.promptTokens = event.promptTokens;
        this.drafter = event.drafter;
        this.metrics.observeQueued(
          Math.max(0, now - this.arrivedAt - event.prefillMs) / 1000,
          event.promptTokens,
        );
        break;
      case 'text': {
        if (event.tokens > 0) {
          const sincePrevious = this.lastOutputAt === null ? null : (now - this.lastOutputAt) / 1000;
          if (this.firstTokenAt === null) {
            this.firstTokenAt = now;
            this.metrics.observeFirstToken((now - this.arrivedAt) / 1000);
            // The first token of the first round is the TTFT; the round's other tokens count as per-token time 0.
            this.metrics.observeTokens(1, null);
            if (event.tokens > 1) this.metrics.observeTokens(event.tokens - 1, 0);
          } else {
            this.metrics.observeTokens(event.tokens, sincePrevious);
          }
          this.lastOutputAt = now;
          this.completionTokens += event.tokens;
        }
        break;
      }
      case 'done':
        this.finishReason = event.finishReason;
        this.promptTokens = event.promptTokens || this.promptTokens;
        this.completionTokens = event.completionTokens;
        if (event.speculation) {
          this.rounds = event.speculation.targetPasses;
          this.draftTokens = event.speculation.draftTokens;
          this.acceptedTokens = event.speculation.acceptedTokens;
          this.prefillMs = event.speculation.prefillMs;
          this.metrics.observeSpeculation(event.speculation);
        }
        this.metrics.observeFinished(event.finishReason, (now - this.arrivedAt) / 1000);
        break;
      case 'error':
        this.finishReason = 'error';
        this.metrics.observeFinished('error', (now - this.arrivedAt) / 1000);
        break;
    }
  }

  usage(): Usage {
    return {
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      total_tokens: this.promptTokens + this.completionTokens,
    };
  }

  timings(now = performance.now()): Timings {
    const startedAt = this.startedAt ?? now;
    const generationMs = Math.max(0, (this.lastOutputAt ?? now) - startedAt);
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    return {
      prompt_n: this.promptTokens,
      prompt_ms: round3(this.prefillMs),
      predicted_n: this.completionTokens,
      predicted_ms: round3(generationMs),
      predicted_per_second: generationMs > 0 ? round3((this.completionTokens * 1000) / generationMs) : 0,
      queue_ms: round3(Math.max(0, startedAt - this.arrivedAt - this.prefillBeforeStart)),
      ttft_ms: round3((this.firstTokenAt ?? now) - this.arrivedAt),
      drafter: this.drafter,
      rounds: this.rounds,
      draft_n: this.draftTokens,
      draft_n_accepted: this.acceptedTokens,
      acceptance_rate: this.draftTokens > 0 ? round3(this.acceptedTokens / this.draftTokens) : null,
      mean_accepted_length: this.rounds > 0 ? round3(this.completionTokens / this.rounds) : null,
    };
  }
}
