import type { LanguageModel } from '@densessm/models';
import type { Drafter, NamedTensor } from '@densessm/speculative';
import { UnavailableError } from './errors.js';
import { findDrafterAssets } from './model-location.js';
import type { DrafterChoice } from './options.js';

/** Makes fresh drafters of one kind (bench needs one per configuration), holding what they share. */
export interface DrafterFactory {
  /** What the stats line and JSON call it. */
  readonly label: string;
  /** A new drafter; undefined for plain decoding. */
  create(): Drafter | undefined;
  dispose(): Promise<void>;
}

export interface DrafterContext {
  readonly target: LanguageModel;
  readonly modelFolder: string;
  /** Loads another model folder (a draft model) on the target's backend. */
  loadModel(folder: string): Promise<LanguageModel>;
}

const nothing = async () => {};

async function readTensors(file: string): Promise<ReadonlyMap<string, NamedTensor>> {
  const { readSafetensorsFile } = await import('@densessm/tensor/node');
  const tensors = new Map<string, NamedTensor>();
  // fp16/bf16 come back as fp32; integer tensors are not drafter weights and are left out.
  for (const [name, t] of await readSafetensorsFile(file, { toFloat32: true })) {
    if (t.data instanceof Float32Array) tensors.set(name, { dims: t.dims, data: t.data });
  }
  return tensors;
}

function missing(kind: string, modelFolder: string): UnavailableError {
  return new UnavailableError(
    `--draft ${kind}: ${modelFolder} has no trained ${kind} (looked for ${kind}/ and ${kind}*.safetensors); try --draft lookup`,
  );
}

/**
 * The drafters `--draft` names, all built by `@densessm/speculative` (its asset readers and `autoDrafter`);
 * this only finds the files and loads them once.
 */
export async function drafterFactory(
  choice: DrafterChoice,
  context: DrafterContext,
): Promise<DrafterFactory> {
  if (choice.kind === 'none') return { label: 'none', create: () => undefined, dispose: nothing };
  const speculative = await import('@densessm/speculative');
  const { target, modelFolder } = context;
  const assets = findDrafterAssets(modelFolder);
  switch (choice.kind) {
    case 'lookup':
      return { label: 'lookup', create: () => new speculative.PromptLookupDrafter(), dispose: nothing };
    case 'recycling':
      return {
        label: 'recycling',
        create: () => new speculative.TokenRecyclingDrafter({ vocabSize: target.vocabSize }),
        dispose: nothing,
      };
    case 'model': {
      const model = await context.loadModel(choice.folder);
      return {
        label: 'draft-model',
        create: () => new speculative.DraftModelDrafter({ model }),
        dispose: () => model.dispose(),
      };
    }
    case 'heads':
    case 'lookahead': {
      const file = assets[choice.kind];
      if (file === undefined) throw missing(choice.kind, modelFolder);
      const tensors = await readTensors(file);
      const build =
        choice.kind === 'heads' ? speculative.medusaHeadsFromTensors : speculative.lookaheadFromTensors;
      build(target, tensors, file); // fail now (wrong names or shapes), not in the middle of a run
      return { label: choice.kind, create: () => build(target, tensors, file), dispose: nothing };
    }
    case 'auto':
      // speculative's autoDrafter: the training-free pair that pays on CPU (its doc comment has the numbers).
      return {
        label: 'auto (lookup+recycling)',
        create: () => speculative.autoDrafter({ target }),
        dispose: nothing,
      };
  }
}

/** One drafter for one generation or conversation (what `generate` and `chat` use). */
export interface PreparedDrafter {
  readonly drafter: Drafter | undefined;
  readonly label: string;
  dispose(): Promise<void>;
}

export async function prepareDrafter(
  choice: DrafterChoice,
  context: DrafterContext,
): Promise<PreparedDrafter> {
  const factory = await drafterFactory(choice, context);
  return { drafter: factory.create(), label: factory.label, dispose: () => factory.dispose() };
}
