import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { Drafter, SpeculativeBenchRow } from '@densessm/speculative';
import { type DrafterFactory, drafterFactory } from '../drafters.js';
import { describeError, ExitCode, UsageError } from '../errors.js';
import { findDrafterAssets, repoRoot } from '../model-location.js';
import {
  DRAFTER_NAMES,
  type DrafterChoice,
  drafterLabel,
  type ModelOptions,
  type OutputOptions,
  parseDrafter,
} from '../options.js';
import { createProgress } from '../progress.js';
import { resolvePromptSets } from '../prompt-sets.js';
import { loadTarget, openModelOnBackend, resolveModel } from '../runtime.js';
import { createTerminal, displayPath, formatMarkdownTable, formatTable, writeOut } from '../terminal.js';
import { checkTokenizerFits, loadTokenizer } from '../tokenizer.js';
import { CLI_VERSION } from '../version.js';

export interface BenchCommandOptions extends ModelOptions, OutputOptions {
  drafters: string;
  batchSizes: number[];
  prompts?: string;
  repeats: number;
  maxTokens: number;
  maxDraftNodes?: number;
  out?: string;
  markdown?: boolean;
  /** true: bench/README.md of the repository; a string: that file. */
  readme?: boolean | string;
}

/** A drafter `bench` could not run on this model (its trained assets are missing), reported instead of a row. */
export interface SkippedDrafter {
  readonly drafter: string;
  readonly reason: string;
}

/**
 * `--drafters` -> choices. `all` is every named drafter plus the model's own draft model when it ships one;
 * plain decoding is always measured by the runner as the baseline.
 */
function benchDrafters(option: string, modelFolder: string): DrafterChoice[] {
  const draftModel = findDrafterAssets(modelFolder).draftModel;
  const names =
    option.trim() === 'all'
      ? [...DRAFTER_NAMES.filter((d) => d !== 'none'), ...(draftModel ? [draftModel] : [])]
      : option
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  const choices = names.map(parseDrafter).filter((c) => c.kind !== 'none');
  if (choices.length === 0)
    throw new UsageError('--drafters needs at least one drafter besides none', 'INVALID_OPTION');
  return choices;
}

/**
 * `densessm bench`: plain greedy decoding vs each drafter on each prompt set and batch size, median of
 * `--repeats` runs in one process (`runSpeculativeBench` of @densessm/speculative does the measuring); prints a
 * table and writes JSON.
 */
export async function runBench(options: BenchCommandOptions): Promise<void> {
  const folder = await resolveModel(options.model);
  const choices = benchDrafters(options.drafters, folder);
  const root = repoRoot();
  const sets = await resolvePromptSets(options.prompts, root && join(root, 'bench', 'prompts'));
  const outFile = options.out ?? defaultOutFile(root, folder);
  const terminal = createTerminal({ quiet: options.quiet === true || options.json === true });

  const tokenizer = await loadTokenizer(folder);

  const loadBefore = loadavg()[0];
  const target = await loadTarget(folder, options, terminal);
  checkTokenizerFits(tokenizer, target.model, terminal);
  const factories: DrafterFactory[] = [];
  const skipped: SkippedDrafter[] = [];
  const drafters: Record<string, () => Drafter> = {};
  // The runner cannot be stopped half-way; Ctrl-C ends the process at once, writing nothing.
  const onSigint = () => {
    process.stderr.write('\ndensessm: bench interrupted; no results written\n');
    process.exit(ExitCode.interrupted);
  };
  process.once('SIGINT', onSigint);
  let rows: SpeculativeBenchRow[];
  try {
    for (const choice of choices) {
      try {
        const factory = await drafterFactory(choice, {
          target: target.model,
          modelFolder: folder,
          loadModel: (f) => openModelOnBackend(f, target.backend, options.threads),
        });
        factories.push(factory);
        drafters[factory.label] = () => factory.create() as Drafter;
      } catch (error) {
        // A drafter whose assets this model lacks or cannot use is reported as skipped; anything else is a
        // real failure.
        const described = describeError(error);
        const assetProblem =
          described.exitCode === ExitCode.unavailable || described.exitCode === ExitCode.model;
        if (!described.expected || !assetProblem || choice.kind === 'model') throw error;
        skipped.push({ drafter: drafterLabel(choice), reason: described.message });
      }
    }
    const { runSpeculativeBench } = await import('@densessm/speculative');
    const total = sets.length * options.batchSizes.length * (Object.keys(drafters).length + 1);
    const progress = createProgress({ label: 'bench', total, unit: 'configurations', quiet: terminal.quiet });
    let done = 0;
    rows = await runSpeculativeBench({
      model: target.model,
      promptSets: sets.map((s) => ({ name: s.name, prompts: s.prompts.map((p) => tokenizer.encode(p)) })),
      drafters,
      batchSizes: options.batchSizes,
      runs: options.repeats,
      maxTokens: options.maxTokens,
      maxDraftNodes: options.maxDraftNodes,
      onProgress: (row) => progress.update(++done, `${row.promptSet} b=${row.batchSize} ${row.drafter}`),
    }).finally(() => progress.stop());
  } finally {
    process.off('SIGINT', onSigint);
    for (const f of factories) await f.dispose();
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
      /** 1-minute load average before and after: other work on the machine skews every number. */
      loadAverage: { before: loadBefore, after: loadavg()[0] },
    },
    settings: {
      threads: options.threads ?? null,
      maxTokens: options.maxTokens,
      maxDraftNodes: options.maxDraftNodes ?? null,
      decoding: 'greedy',
      repeats: options.repeats,
      warmupRuns: 1,
      batchSizes: options.batchSizes,
      promptSets: sets.map((s) => ({ name: s.name, file: s.file, prompts: s.prompts.length })),
    },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rows,
    skipped,
  };
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
  let readme: string | undefined;
  if (options.readme !== undefined && options.readme !== false) {
    readme = options.readme === true ? join(root ?? process.cwd(), 'bench', 'README.md') : options.readme;
    updateReadme(readme, result, outFile);
  }
  if (options.json) {
    await writeOut(`${JSON.stringify({ ...result, file: outFile }, null, 2)}\n`);
    return;
  }
  await writeOut(`${benchTable(rows, options.markdown === true)}\n`);
  if (readme !== undefined)
    terminal.info(terminal.paintErr('dim', `table written to ${displayPath(readme)}`));
  for (const s of skipped) terminal.info(`skipped ${s.drafter}: ${s.reason}`);
  terminal.info(terminal.paintErr('dim', `results written to ${displayPath(outFile)}`));
}

const README_BEGIN =
  '<!-- densessm bench: begin (generated by `densessm bench --readme`; edits here are overwritten) -->';
const README_END = '<!-- densessm bench: end -->';

/**
 * Puts the result's table into a Markdown file between the markers above (appended with a heading the first
 * time), leaving the rest of the file as it is.
 */
function updateReadme(
  file: string,
  result: {
    createdAt: string;
    model: { folder: string };
    backend: string;
    machine: { cpus: number; cpuModel: string; loadAverage: { before: number; after: number } };
    settings: { maxTokens: number; repeats: number };
    rows: SpeculativeBenchRow[];
  },
  resultFile: string,
): void {
  const block = [
    README_BEGIN,
    `Model \`${basename(result.model.folder)}\`, ${result.backend}, ${result.machine.cpus} x ${result.machine.cpuModel} ` +
      `(load average ${result.machine.loadAverage.before.toFixed(1)} before, ${result.machine.loadAverage.after.toFixed(1)} after); ` +
      `greedy, ${result.settings.maxTokens} tokens per sequence, median of ${result.settings.repeats} runs after a warm-up ` +
      `(${result.createdAt.slice(0, 16).replace('T', ' ')} UTC, \`${relative(dirname(file), resultFile)}\`).`,
    '',
    benchTable(result.rows, true),
    README_END,
  ].join('\n');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const begin = old.indexOf(README_BEGIN);
  const end = old.indexOf(README_END);
  const next =
    begin >= 0 && end > begin
      ? old.slice(0, begin) + block + old.slice(end + README_END.length)
      : `${old}${old === '' || old.endsWith('\n') ? '' : '\n'}${old === '' ? '' : '\n'}## Speculative decoding (densessm bench)\n\n${block}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, next);
}

function defaultOutFile(root: string | undefined, folder: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..+$/, '').replace('T', '-');
  return join(root ?? process.cwd(), 'bench', 'results', `cli-${basename(folder)}-${stamp}.json`);
}

const BENCH_HEADER = [
  'prompts',
  'batch',
  'drafter',
  'tok/s',
  'speedup',
  'mean acc',
  'ms/pass',
  'same as plain',
];

/** The table `bench` prints (`--markdown`: as GitHub Markdown). */
export function benchTable(rows: readonly SpeculativeBenchRow[], markdown = false): string {
  const body = rows.map((r) => [
    r.promptSet,
    String(r.batchSize),
    r.drafter,
    r.tokensPerSecond.toFixed(1),
    `${r.speedup.toFixed(2)}x`,
    r.meanAcceptedLength.toFixed(2),
    r.msPerTargetPass.toFixed(2),
    r.identicalToPlain ? 'yes' : 'NO',
  ]);
  return markdown ? formatMarkdownTable(BENCH_HEADER, body) : formatTable(BENCH_HEADER, body);
}
