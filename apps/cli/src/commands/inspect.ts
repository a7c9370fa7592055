import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { resolveConfig } from '@densessm/models';
import {
  checkModelFolder,
  findDrafterAssets,
  readConfigJson,
  resolveModelFolder,
} from '../model-location.js';
import type { ModelOptions } from '../options.js';
import { loadTarget } from '../runtime.js';
import { createTerminal, displayPath, formatBytes, formatCount, writeOut } from '../terminal.js';
import { summarizeFiles, summarizeWeights, type WeightsSummary } from '../weights-summary.js';

export interface InspectCommandOptions extends ModelOptions {
  json?: boolean;
}

interface FolderReport {
  readonly folder: string;
  readonly modelType: string;
  /** The config as the engine parsed it (defaults filled in). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly weights: WeightsSummary;
  readonly tokenizer: readonly string[];
}

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'generation_config.json',
];

async function describeFolder(folder: string): Promise<FolderReport> {
  const raw = readConfigJson(folder);
  const { config } = resolveConfig(raw, join(folder, 'config.json'));
  return {
    folder,
    modelType: config.modelType,
    config: { ...config },
    weights: await summarizeWeights(folder),
    tokenizer: TOKENIZER_FILES.filter((f) => existsSync(join(folder, f))),
  };
}

/** `densessm inspect [model]`: config, parameters, bytes per dtype, state size per sequence, assets. */
export async function runInspect(
  folderArg: string | undefined,
  options: InspectCommandOptions,
): Promise<void> {
  const terminal = createTerminal({ quiet: options.json === true });
  if (folderArg !== undefined) checkModelFolder(folderArg, 'the model argument');
  const folder = resolveModelFolder(folderArg ?? options.model);
  const report = await describeFolder(folder);
  // The state size is what the model allocates, so measure it on the loaded model rather than re-derive it.
  const target = await loadTarget(folder, options, terminal);
  const stateBytes = target.model.newState().byteSize;
  await target.model.dispose();
  const found = findDrafterAssets(folder);
  const assets: Record<string, FolderReport | { file: string; weights: WeightsSummary }> = {};
  if (found.draftModel) assets['draft model'] = await describeFolder(found.draftModel);
  for (const kind of ['heads', 'lookahead'] as const) {
    const file = found[kind];
    if (file) assets[kind] = { file, weights: await summarizeFiles(dirname(file), [basename(file)]) };
  }
  if (options.json) {
    await writeOut(
      `${JSON.stringify({ ...report, stateBytesPerSequence: stateBytes, drafterAssets: assets }, null, 2)}\n`,
    );
    return;
  }
  const lines = [
    `model       ${displayPath(folder)} (${report.modelType})`,
    `config      ${formatConfig(report.config)}`,
    `parameters  ${formatCount(report.weights.parameters)} (${report.weights.parameters.toLocaleString('en-US')}) in ${report.weights.tensors} tensors, ${report.weights.files.join(', ')}`,
    ...report.weights.byDType.map(
      (d, i) =>
        `${i === 0 ? 'weights   ' : '          '}  ${d.dtype.padEnd(5)} ${formatBytes(d.bytes).padStart(10)}  ${formatCount(d.parameters)} params, ${d.tensors} tensors`,
    ),
    `memory      ${formatBytes(report.weights.parameters * 4)} of weights once loaded (the engine computes in fp32)`,
    `state       ${formatBytes(stateBytes)} per sequence (fixed: it does not grow with the context)`,
    `tokenizer   ${report.tokenizer.length > 0 ? report.tokenizer.join(', ') : 'none found'}`,
    `drafters    ${describeAssets(assets)}`,
  ];
  await writeOut(`${lines.join('\n')}\n`);
}

function formatConfig(config: Readonly<Record<string, unknown>>): string {
  return Object.entries(config)
    .filter(
      ([key, value]) => key !== 'modelType' && (typeof value === 'number' || typeof value === 'boolean'),
    )
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

function describeAssets(
  assets: Record<string, FolderReport | { file: string; weights: WeightsSummary }>,
): string {
  const parts = Object.entries(assets).map(([name, a]) =>
    'modelType' in a
      ? `${name} ${displayPath(a.folder)} (${a.modelType}, ${formatCount(a.weights.parameters)} params)`
      : `${name} ${displayPath(a.file)} (${formatCount(a.weights.parameters)} params)`,
  );
  return parts.length > 0
    ? `${parts.join(', ')}; also lookup, recycling and auto`
    : 'lookup, recycling, auto (no trained assets)';
}
