import type { LanguageModel } from '@densessm/models';
import type { Drafter } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { generate } from './generate.js';
import {
  acceptanceByDepth,
  addMetrics,
  emptyMetrics,
  meanAcceptedLength,
  type SpeculationMetrics,
} from './metrics.js';

export interface BenchPromptSet {
  readonly name: string;
  /** Token ids of each prompt (the caller tokenizes). */
  readonly prompts: readonly (Int32Array | readonly number[])[];
}

export interface SpeculativeBenchOptions {
  model: LanguageModel;
  promptSets: readonly BenchPromptSet[];
  /**
   * Drafters by name; each factory is called once per run, so nothing a drafter learned carries from one run
   * (the warm-up included) into the next, while within a run it carries from one batch of prompts to the next.
   */
  drafters: Readonly<Record<string, () => Drafter>>;
  /**
   * Default [1, 8]. A run feeds every prompt of the set once, `batchSize` at a time (batch 1: one prompt after
   * another); the last batch is filled up by cycling through the set.
   */
  batchSizes?: readonly number[];
  /** Measured runs per configuration, after one unmeasured warm-up run (default 3; the median is reported). */
  runs?: number;
  maxTokens?: number;
  maxDraftNodes?: number;
  onProgress?: (row: SpeculativeBenchRow) => void;
}

export interface SpeculativeBenchRow {
  readonly promptSet: string;
  /** `plain` for the baseline, else the drafter's name in `drafters`. */
  readonly drafter: string;
  readonly batchSize: number;
  /** Sequences generated per run: every prompt of the set, the last batch filled up by cycling. */
  readonly sequencesPerRun: number;
  /** Median over runs of generated tokens (all sequences) per second of wall time. */
  readonly tokensPerSecond: number;
  readonly runsTokensPerSecond: number[];
  /** Tokens per second over plain decoding's, same set and batch size, same process. */
  readonly speedup: number;
  /** Tokens per target pass, bonus included (1 for plain decoding). */
  readonly meanAcceptedLength: number;
  readonly acceptanceByDepth: number[];
  /** Wall milliseconds per batched target pass (verify or step, plus commit). */
  readonly msPerTargetPass: number;
  /** Wall milliseconds of the last measured run spent drafting, verifying and committing. */
  readonly draftMs: number;
  readonly verifyMs: number;
  readonly commitMs: number;
  /** Whether every sequence's tokens equal plain greedy decoding's. */
  readonly identicalToPlain: boolean;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Plain greedy decoding vs each drafter on each prompt set and batch size, in one process (DESIGN.md
 * section 7, Spec-Bench's protocol): tokens/s as the median of `runs` (configurations interleaved run by
 * run), speed-up over plain decoding of the same set and batch size, mean accepted length, acceptance by
 * depth, time split of the last run, and a check that the output equals plain decoding's.
 */
export async function runSpeculativeBench(options: SpeculativeBenchOptions): Promise<SpeculativeBenchRow[]> {
  const { model, promptSets, drafters } = options;
  const batchSizes = options.batchSizes ?? [1, 8];
  const runs = options.runs ?? 3;
  const maxTokens = options.maxTokens ?? 128;
  if (!(runs >= 1)) throw new SpeculativeError('INVALID_OPTION', `runs must be >= 1, got ${runs}.`);
  const rows: SpeculativeBenchRow[] = [];
  const configs: [string, (() => Drafter) | undefined][] = [
    ['plain', undefined],
    ...Object.entries(drafters),
  ];
  for (const set of promptSets) {
    if (set.prompts.length === 0)
      throw new SpeculativeError('INVALID_OPTION', `Prompt set ${set.name} is empty.`);
    for (const batchSize of batchSizes) {
      const batches = Array.from({ length: Math.ceil(set.prompts.length / batchSize) }, (_, k) =>
        Array.from({ length: batchSize }, (_, i) => set.prompts[(k * batchSize + i) % set.prompts.length]),
      );
      const measured = configs.map(([name, make]) => ({
        name,
        make,
        rates: [] as number[],
        tokens: [] as number[][],
        metrics: undefined as SpeculationMetrics | undefined,
      }));
      // Run 0 warms up (graph sessions, caches, the drafter's statistics); then configurations take turns
      // run by run, so a change in machine load hits all of them alike.
      for (let run = 0; run <= runs; run++) {
        for (const m of measured) {
          const drafter = m.make?.();
          const metrics = emptyMetrics();
          const started = performance.now();
          m.tokens = [];
          for (const prompts of batches) {
            const generation = generate(model, prompts, {
              maxTokens,
              drafter,
              maxDraftNodes: options.maxDraftNodes,
            });
            const results = await Promise.all(generation.sequences.map((s) => s.result));
            addMetrics(metrics, await generation.done);
            m.tokens.push(...results.map((r) => r.tokens));
          }
          const elapsed = (performance.now() - started) / 1000;
          if (run === 0) continue;
          m.rates.push(m.tokens.reduce((a, t) => a + t.length, 0) / elapsed);
          m.metrics = metrics;
        }
      }
      const plain = measured[0];
      for (const m of measured) {
        const metrics = m.metrics!;
        const row: SpeculativeBenchRow = {
          promptSet: set.name,
          drafter: m.name,
          batchSize,
          sequencesPerRun: m.tokens.length,
          tokensPerSecond: median(m.rates),
          runsTokensPerSecond: m.rates,
          speedup: median(m.rates) / median(plain.rates),
          meanAcceptedLength: meanAcceptedLength(metrics),
          acceptanceByDepth: acceptanceByDepth(metrics),
          msPerTargetPass: (metrics.verifyMs + metrics.commitMs) / Math.max(1, metrics.batchPasses),
          draftMs: metrics.draftMs,
          verifyMs: metrics.verifyMs,
          commitMs: metrics.commitMs,
          identicalToPlain: JSON.stringify(m.tokens) === JSON.stringify(plain.tokens),
        };
        rows.push(row);
        options.onProgress?.(row);
      }
    }
  }
  return rows;
}
