import type { Terminal } from './terminal.js';

/** Why a generation ended. */
export type FinishReason = 'length' | 'stop' | 'eos' | 'interrupted';

/** What `generate` and each `chat` turn report: the speed line and the `--json` `stats` object. */
export interface GenerationStats {
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** Wall time from the start of prefill to the last token, in seconds (model load excluded). */
  readonly seconds: number;
  /** Decode speed: tokens after the first per second after the first (prefill is in timeToFirstTokenMs). */
  readonly tokensPerSecond: number;
  /** Prefill plus the first token, in milliseconds. */
  readonly timeToFirstTokenMs: number | null;
  /** Tokens emitted per target pass, bonus included (1 for plain decoding). */
  readonly meanAcceptedLength: number;
  readonly targetPasses: number;
  /** Per depth d: the fraction of passes whose tree reached depth d + 1 that accepted it. */
  readonly acceptanceByDepth: readonly number[];
  readonly drafter: string;
  readonly finishReason: FinishReason;
}

/** Times a generation from the CLI's side: when it started, when the first token arrived, when it ended. */
export class GenerationClock {
  private readonly started = performance.now();
  private firstAt: number | undefined;
  private endedAt: number | undefined;
  tokens = 0;

  tokenArrived(count = 1): void {
    if (count <= 0) return;
    this.firstAt ??= performance.now();
    this.tokens += count;
  }

  end(): void {
    this.endedAt ??= performance.now();
  }

  get seconds(): number {
    return ((this.endedAt ?? performance.now()) - this.started) / 1000;
  }

  get timeToFirstTokenMs(): number | null {
    return this.firstAt === undefined ? null : this.firstAt - this.started;
  }

  /** Tokens after the first, per second after the first; falls back to tokens / total time for one token. */
  get tokensPerSecond(): number {
    const end = this.endedAt ?? performance.now();
    if (this.firstAt !== undefined && this.tokens >= 2 && end > this.firstAt) {
      return ((this.tokens - 1) * 1000) / (end - this.firstAt);
    }
    return this.seconds > 0 ? this.tokens / this.seconds : 0;
  }
}

/** The final line after a streamed completion, e.g. `64 tokens · 212.4 tok/s · TTFT 31 ms · mean accepted 2.61 · lookup`. */
export function formatStatsLine(stats: GenerationStats, paint: Terminal['paintErr']): string {
  const parts = [
    `${stats.generatedTokens} tokens in ${stats.seconds.toFixed(2)} s`,
    paint('bold', `${stats.tokensPerSecond.toFixed(1)} tok/s`),
    `TTFT ${stats.timeToFirstTokenMs === null ? '-' : `${Math.round(stats.timeToFirstTokenMs)} ms`}`,
    `mean accepted ${stats.meanAcceptedLength.toFixed(2)}`,
    `drafter ${stats.drafter}`,
  ];
  if (stats.finishReason !== 'length') parts.push(`(${stats.finishReason})`);
  return paint('dim', '[') + parts.join(paint('dim', ' · ')) + paint('dim', ']');
}
