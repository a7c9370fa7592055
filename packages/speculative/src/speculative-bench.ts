import type { LanguageModel } from '@densessm/models';
import type { Drafter } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { generate } from './generate.js';
import { acceptanceByDepth, meanAcceptedLength, type SpeculationMetrics } from './metrics.js';

export interface BenchPromptSet {
  readonly name: string;
  /** Token ids of each prompt (the caller tokenizes). */
  readonly prompts: readonly (Int32Array | readonly number[])[];
}

export interface SpeculativeBenchOptions {
  model: LanguageModel;
  promptSets: readonly BenchPromptSet[];
  /** Drafters by name; each factory is called once per prompt set and batch size (state kept across runs). */
  drafters: Readonly<Record<string, () => Drafter>>;
  /** Default [1, 8]. A batch takes the set's first prompts, cycling if it has fewer. */
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
 * section 7, Spec-Bench's protocol): tokens/s as the median of `runs`, speed-up over the plain run of the
 * same configuration, mean accepted length, acceptance by depth, time split, and a check that the output
 * equals plain decoding's.
 */
export async function runSpeculativeBench(options: SpeculativeBenchOptions): Promise<SpeculativeBenchRow[]> {
  const { model, promptSets, drafters } = options;
  const batchSizes = options.batchSizes ?? [1, 8];
  const runs = options.runs ?? 3;
  const maxTokens = options.maxTokens ?? 128;
  if (!(runs >= 1)) throw new SpeculativeError('INVALID_OPTION', `runs must be >= 1, got ${runs}.`);
  const rows: SpeculativeBenchRow[] = [];
  for (const set of promptSets) {
    if (set.prompts.length === 0)
      throw new SpeculativeError('INVALID_OPTION', `Prompt set ${set.name} is empty.`);
    for (const batchSize of batchSizes) {
      const prompts = Array.from({ length: batchSize }, (_, i) => set.prompts[i % set.prompts.length]);
      let plainTokens: number[][] | undefined;
      let plainRate = 0;
      for (const [name, make] of [['plain', undefined] as const, ...Object.entries(drafters)]) {
        const drafter = make?.();
        const rates: number[] = [];
        let metrics: SpeculationMetrics | undefined;
        let tokens: number[][] = [];
        for (let run = 0; run <= runs; run++) {
          const started = performance.now();
          const generation = generate(model, prompts, {
            maxTokens,
            drafter,
            maxDraftNodes: options.maxDraftNodes,
          });
          const results = await Promise.all(generation.sequences.map((s) => s.result));
          const runMetrics = await generation.done;
          const elapsed = (performance.now() - started) / 1000;
          tokens = results.map((r) => r.tokens);
          if (run === 0) continue; // warm-up: graph sessions, caches, the drafter's first statistics
          rates.push(tokens.reduce((a, t) => a + t.length, 0) / elapsed);
          metrics = runMetrics;
        }
        const rate = median(rates);
        if (name === 'plain') {
          plainTokens = tokens;
          plainRate = rate;
        }
        const m = metrics!;
        const row: SpeculativeBenchRow = {
          promptSet: set.name,
          drafter: name,
          batchSize,
          tokensPerSecond: rate,
          runsTokensPerSecond: rates,
          speedup: rate / plainRate,
          meanAcceptedLength: meanAcceptedLength(m),
          acceptanceByDepth: acceptanceByDepth(m),
          msPerTargetPass: (m.verifyMs + m.commitMs) / Math.max(1, m.batchPasses),
          draftMs: m.draftMs,
          verifyMs: m.verifyMs,
          commitMs: m.commitMs,
          identicalToPlain: JSON.stringify(tokens) === JSON.stringify(plainTokens),
        };
        rows.push(row);
        options.onProgress?.(row);
      }
    }
  }
  return rows;
}
