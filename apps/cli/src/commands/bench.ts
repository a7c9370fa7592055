import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  acceptanceByDepth,
  generate,
  meanAcceptedLength,
  type SpeculationMetrics,
} from '@densessm/speculative';
import { type PreparedDrafter, prepareDrafter } from '../drafters.js';
import { CliError, ExitCode, InterruptedError, UsageError } from '../errors.js';
import { toSequenceOptions } from '../generation.js';
import { onInterrupt } from '../interrupt.js';
import { repoRoot, resolveModelFolder } from '../model-location.js';
import {
  checkSampling,
  DRAFTER_NAMES,
  type DrafterChoice,
  drafterLabel,
  type ModelOptions,
  type OutputOptions,
  parseDrafter,
  type SamplingOptions,
} from '../options.js';
import { createProgress } from '../progress.js';
import { type PromptSet, resolvePromptSets } from '../prompt-sets.js';
import { type LoadedTarget, loadTarget, openModelOnBackend } from '../runtime.js';
import { createTerminal, displayPath, formatTable, type Terminal, writeOut } from '../terminal.js';
import { type CliTokenizer, loadTokenizer } from '../tokenizer.js';
import { CLI_VERSION } from '../version.js';

export interface BenchCommandOptions extends ModelOptions, SamplingOptions, OutputOptions {
  drafters: string;
  batchSizes: number[];
  prompts?: string;
  repeats: number;
  out?: string;
}

/** One configuration's measurement: median over repeats, plus the acceptance numbers of all of them. */
export interface BenchRow {
  readonly promptSet: string;
  readonly batchSize: number;
  readonly drafter: string;
  readonly status: 'ok' | 'skipped';
  readonly reason?: string;
  readonly tokensPerSecond?: number;
  readonly tokensPerSecondRuns?: readonly number[];
  /** Median tokens/s over the plain-decoding median at the same prompt set and batch size. */
  readonly speedup?: number;
  readonly meanAcceptedLength?: number;
  readonly acceptanceByDepth?: readonly number[];
  readonly generatedTokens?: number;
  readonly seconds?: number;
  /** Greedy only: whether every sequence's tokens equal plain decoding's (lossless check, first run). */
  readonly matchesPlain?: boolean;
  readonly metrics?: SpeculationMetrics;
}

const ALL = 'all';

/**
 * `--drafters` -> choices; plain decoding always comes first as the baseline. `all` is every named drafter plus
 * the model's own draft model when it ships one; drafters whose assets are missing are reported as skipped.
 */
function benchDrafters(option: string, modelFolder: string): DrafterChoice[] {
  const draftFolder = join(modelFolder, 'draft');
  const names =
    option.trim() === ALL
      ? [
          ...DRAFTER_NAMES.filter((d) => d !== 'none'),
          ...(existsSync(join(draftFolder, 'config.json')) ? [draftFolder] : []),
        ]
      : option
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--drafters needs at least one drafter', 'INVALID_OPTION');
  const choices: DrafterChoice[] = [{ kind: 'none' }];
  for (const name of names) {
    const choice = parseDrafter(name);
    if (choice.kind !== 'none') choices.push(choice);
  }
  return choices;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Adds metrics field by field (counters and per-depth arrays), whatever fields the library reports. */
function sumMetrics(all: readonly SpeculationMetrics[]): SpeculationMetrics {
  const total: Record<string, number | number[]> = {};
  for (const m of all) {
    for (const [key, value] of Object.entries(m) as [string, number | number[]][]) {
      if (typeof value === 'number') {
        total[key] = ((total[key] as number | undefined) ?? 0) + value;
      } else {
        const into = ((total[key] as number[] | undefined) ?? []).slice();
        value.forEach((n, d) => {
          into[d] = (into[d] ?? 0) + n;
        });
        total[key] = into;
      }
    }
  }
  return total as unknown as SpeculationMetrics;
}

interface RunOutcome {
  readonly seconds: number;
  readonly generatedTokens: number;
  readonly tokens: number[][];
  readonly metrics: SpeculationMetrics;
}

/** Generates for every prompt of a set, `batchSize` sequences per `generate` call; times the whole set. */
async function runSet(
  target: LoadedTarget,
  prompts: readonly number[][],
  batchSize: number,
  drafter: PreparedDrafter,
  options: BenchCommandOptions,
  tokenizer: CliTokenizer,
  signal: AbortSignal,
): Promise<RunOutcome> {
  const started = performance.now();
  const tokens: number[][] = [];
  const metrics: SpeculationMetrics[] = [];
  for (let i = 0; i < prompts.length; i += batchSize) {
    if (signal.aborted) throw new InterruptedError();
    const { sequences, done } = generate(target.model, prompts.slice(i, i + batchSize), {
      ...toSequenceOptions(options, tokenizer),
      drafter: drafter.drafter,
      signal,
    });
    const results = await Promise.all(sequences.map((s) => s.result));
    metrics.push(await done);
    for (const r of results) tokens.push(r.tokens);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    generatedTokens: tokens.reduce((a, t) => a + t.length, 0),
    tokens,
    metrics: sumMetrics(metrics),
  };
}

interface BenchContext {
  readonly target: LoadedTarget;
  readonly folder: string;
  readonly tokenizer: CliTokenizer;
  readonly options: BenchCommandOptions;
  readonly terminal: Terminal;
  readonly signal: AbortSignal;
  /** Called after every run (warm-up included) with a short description. */
  readonly ranOne: (detail: string) => void;
}

const WARMUP_RUNS = 1;

/** Measures one drafter on one prompt set at one batch size: a warm-up run, then `repeats` timed runs. */
async function benchConfiguration(
  context: BenchContext,
  set: PromptSet,
  prompts: readonly number[][],
  batchSize: number,
  choice: DrafterChoice,
): Promise<{ row: BenchRow; tokens?: number[][] }> {
  const { target, options } = context;
  let prepared: PreparedDrafter;
  try {
    prepared = await prepareDrafter(choice, {
      target: target.model,
      modelFolder: context.folder,
      loadModel: (f) => openModelOnBackend(f, target.backend, options.threads),
      terminal: context.terminal,
    });
  } catch (error) {
    // A drafter whose assets this model lacks is reported as skipped; everything else is a real failure.
    if (!(error instanceof CliError) || error.exitCode !== ExitCode.unavailable) throw error;
    for (let r = 0; r < WARMUP_RUNS + options.repeats; r++) context.ranOne('skipped');
    const row: BenchRow = {
      promptSet: set.name,
      batchSize,
      drafter: drafterLabel(choice),
      status: 'skipped',
      reason: error.message,
    };
    return { row };
  }
  try {
    const outcomes: RunOutcome[] = [];
    for (let r = 0; r < WARMUP_RUNS + options.repeats; r++) {
      const outcome = await runSet(
        target,
        prompts,
        batchSize,
        prepared,
        options,
        context.tokenizer,
        context.signal,
      );
      if (r >= WARMUP_RUNS) outcomes.push(outcome);
      context.ranOne(`${set.name} b=${batchSize} ${prepared.label}`);
    }
    const metrics = sumMetrics(outcomes.map((o) => o.metrics));
    const runs = outcomes.map((o) => o.generatedTokens / o.seconds);
    const row: BenchRow = {
      promptSet: set.name,
      batchSize,
      drafter: prepared.label,
      status: 'ok',
      tokensPerSecond: median(runs),
      tokensPerSecondRuns: runs,
      meanAcceptedLength: meanAcceptedLength(metrics),
      acceptanceByDepth: acceptanceByDepth(metrics),
      generatedTokens: outcomes[0].generatedTokens,
      seconds: median(outcomes.map((o) => o.seconds)),
      metrics,
    };
    return { row, tokens: outcomes[0].tokens };
  } finally {
    await prepared.dispose();
  }
}

/** `densessm bench`: plain decoding vs each drafter, per prompt set and batch size; table + JSON. */
export async function runBench(options: BenchCommandOptions): Promise<void> {
  checkSampling(options);
  const folder = resolveModelFolder(options.model);
  const choices = benchDrafters(options.drafters, folder);
  const root = repoRoot();
  const sets = await resolvePromptSets(options.prompts, root && join(root, 'bench', 'prompts'));
  const outFile = options.out ?? defaultOutFile(root, folder);
  const terminal = createTerminal({ quiet: options.quiet === true || options.json === true });

  const target = await loadTarget(folder, options, terminal);
  const tokenizer = await loadTokenizer(folder, target.model, terminal);
  const interrupt = onInterrupt();
  const rows: BenchRow[] = [];
  const totalRuns =
    sets.length * options.batchSizes.length * choices.length * (options.repeats + WARMUP_RUNS);
  const progress = createProgress({ label: 'bench', total: totalRuns, unit: 'runs', quiet: terminal.quiet });
  let runsDone = 0;
  const context: BenchContext = {
    target,
    folder,
    tokenizer,
    options,
    terminal,
    signal: interrupt.signal,
    ranOne: (detail) => progress.update(++runsDone, detail),
  };
  try {
    for (const set of sets) {
      const prompts = set.prompts.map((p) => tokenizer.encode(p));
      for (const batchSize of options.batchSizes) {
        let plain: { tokensPerSecond: number; tokens: number[][] } | undefined;
        for (const choice of choices) {
          const { row, tokens } = await benchConfiguration(context, set, prompts, batchSize, choice);
          if (choice.kind === 'none' && row.tokensPerSecond !== undefined && tokens !== undefined) {
            plain = { tokensPerSecond: row.tokensPerSecond, tokens };
          }
          const compared: BenchRow =
            plain !== undefined && row.tokensPerSecond !== undefined && tokens !== undefined
              ? {
                  ...row,
                  speedup: row.tokensPerSecond / plain.tokensPerSecond,
                  matchesPlain: options.temperature === 0 ? sameTokens(tokens, plain.tokens) : undefined,
                }
              : row;
          rows.push(compared);
        }
      }
    }
  } catch (error) {
    if (interrupt.interrupted) throw new InterruptedError('bench interrupted; no results written');
    throw error;
  } finally {
    progress.stop();
    interrupt.release();
    await target.model.dispose();
  }

  const result = {
    schema: 'densessm-bench/1',
    tool: `densessm ${CLI_VERSION}`,
    createdAt: new Date().toISOString(),
    model: { folder, modelType: target.model.modelType, vocabSize: target.model.vocabSize },
    backend: target.backend.name,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      memoryBytes: totalmem(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    settings: {
      threads: options.threads ?? null,
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      seed: options.seed ?? null,
      repeats: options.repeats,
      warmupRuns: WARMUP_RUNS,
      batchSizes: options.batchSizes,
      promptSets: sets.map((s) => ({ name: s.name, file: s.file, prompts: s.prompts.length })),
    },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rows,
  };
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
  if (options.json) {
    await writeOut(`${JSON.stringify({ ...result, file: outFile }, null, 2)}\n`);
    return;
  }
  await writeOut(`${benchTable(rows)}\n`);
  terminal.info(terminal.paintErr('dim', `results written to ${displayPath(outFile)}`));
}

function sameTokens(a: readonly number[][], b: readonly number[][]): boolean {
  return (
    a.length === b.length && a.every((t, i) => t.length === b[i].length && t.every((x, j) => x === b[i][j]))
  );
}

function defaultOutFile(root: string | undefined, folder: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..+$/, '').replace('T', '-');
  return join(root ?? process.cwd(), 'bench', 'results', `cli-${basename(folder)}-${stamp}.json`);
}

/** The table `bench` prints (and that bench/README.md shows). */
export function benchTable(rows: readonly BenchRow[]): string {
  const body = rows.map((r) =>
    r.status === 'skipped'
      ? [
          r.promptSet,
          r.batchSize === 0 ? '-' : String(r.batchSize),
          r.drafter,
          '-',
          '-',
          '-',
          '-',
          `skipped: ${r.reason}`,
        ]
      : [
          r.promptSet,
          String(r.batchSize),
          r.drafter,
          (r.tokensPerSecond ?? 0).toFixed(1),
          r.speedup === undefined ? '-' : `${r.speedup.toFixed(2)}x`,
          (r.meanAcceptedLength ?? 0).toFixed(2),
          String(r.generatedTokens ?? 0),
          r.matchesPlain === undefined ? '' : r.matchesPlain ? 'same as plain' : 'DIFFERS from plain',
        ],
  );
  return formatTable(['prompts', 'batch', 'drafter', 'tok/s', 'speedup', 'mean acc', 'tokens', 'note'], body);
}
