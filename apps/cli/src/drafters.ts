import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LanguageModel } from '@densessm/models';
import type { Drafter } from '@densessm/speculative';
import { UnavailableError } from './errors.js';
import type { DrafterChoice } from './options.js';
import type { Terminal } from './terminal.js';

/** What a drafter may need besides the choice: the target, its folder (for trained assets), the backend. */
export interface DrafterContext {
  readonly target: LanguageModel;
  readonly modelFolder: string;
  /** Loads another model folder (the draft model) on the target's backend. */
  loadModel(folder: string): Promise<LanguageModel>;
  readonly terminal: Terminal;
}

/** A drafter ready for `generate`, plus what must be released after it. */
export interface PreparedDrafter {
  /** Undefined for plain decoding. */
  readonly drafter: Drafter | undefined;
  /** What the stats line and JSON call it. */
  readonly label: string;
  dispose(): Promise<void>;
}

type SpeculativeModule = Record<string, unknown>;

/** A drafter class of `@densessm/speculative`, or an actionable error while that package does not export it yet. */
function drafterClass<T>(module: SpeculativeModule, name: string, flag: string): new (options: T) => Drafter {
  const found = module[name];
  if (typeof found !== 'function') {
    throw new UnavailableError(
      `--draft ${flag} needs ${name} from @densessm/speculative, which this build does not have; use --draft lookup, recycling or none`,
    );
  }
  return found as new (
    options: T,
  ) => Drafter;
}

/** Builds the drafter `--draft` asked for. Construction lives in `@densessm/speculative`; this only wires it. */
export async function prepareDrafter(
  choice: DrafterChoice,
  context: DrafterContext,
): Promise<PreparedDrafter> {
  const none = async () => {};
  if (choice.kind === 'none') return { drafter: undefined, label: 'none', dispose: none };
  const speculative = (await import('@densessm/speculative')) as unknown as SpeculativeModule;
  switch (choice.kind) {
    case 'lookup': {
      const PromptLookup = drafterClass<object>(speculative, 'PromptLookupDrafter', 'lookup');
      return { drafter: new PromptLookup({}), label: 'lookup', dispose: none };
    }
    case 'recycling': {
      const TokenRecycling = drafterClass<{ vocabSize: number }>(
        speculative,
        'TokenRecyclingDrafter',
        'recycling',
      );
      return {
        drafter: new TokenRecycling({ vocabSize: context.target.vocabSize }),
        label: 'recycling',
        dispose: none,
      };
    }
    case 'model':
      return draftModel(speculative, choice.folder, `draft model ${choice.folder}`, context);
    case 'heads':
    case 'lookahead': {
      const assets = join(context.modelFolder, choice.kind);
      if (!existsSync(assets)) {
        throw new UnavailableError(
          `--draft ${choice.kind} needs trained ${choice.kind} in ${assets}, which this model does not have; try --draft lookup`,
        );
      }
      throw new UnavailableError(
        `--draft ${choice.kind}: loading ${assets} needs a loader from @densessm/speculative that this build does not have`,
      );
    }
    case 'auto': {
      const draftFolder = join(context.modelFolder, 'draft');
      if (existsSync(join(draftFolder, 'config.json'))) {
        return draftModel(speculative, draftFolder, 'auto (draft model)', context);
      }
      const PromptLookup = drafterClass<object>(speculative, 'PromptLookupDrafter', 'auto');
      return { drafter: new PromptLookup({}), label: 'auto (lookup)', dispose: none };
    }
  }
}

async function draftModel(
  speculative: SpeculativeModule,
  folder: string,
  label: string,
  context: DrafterContext,
): Promise<PreparedDrafter> {
  const DraftModel = drafterClass<{ model: LanguageModel }>(speculative, 'DraftModelDrafter', folder);
  const model = await context.loadModel(folder);
  return { drafter: new DraftModel({ model }), label, dispose: () => model.dispose() };
}
