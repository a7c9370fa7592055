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

const nothing = async () => {};

/** The drafter `--draft` asked for. Every drafter is `@densessm/speculative`'s; this only wires it up. */
export async function prepareDrafter(
  choice: DrafterChoice,
  context: DrafterContext,
): Promise<PreparedDrafter> {
  if (choice.kind === 'none') return { drafter: undefined, label: 'none', dispose: nothing };
  const speculative = await import('@densessm/speculative');
  switch (choice.kind) {
    case 'lookup':
      return { drafter: new speculative.PromptLookupDrafter(), label: 'lookup', dispose: nothing };
    case 'recycling':
      return {
        drafter: new speculative.TokenRecyclingDrafter({ vocabSize: context.target.vocabSize }),
        label: 'recycling',
        dispose: nothing,
      };
    case 'model': {
      const model = await context.loadModel(choice.folder);
      return {
        drafter: new speculative.DraftModelDrafter({ model }),
        label: 'draft-model',
        dispose: () => model.dispose(),
      };
    }
    case 'heads':
    case 'lookahead': {
      const assets = join(context.modelFolder, choice.kind);
      if (!existsSync(assets)) {
        throw new UnavailableError(
          `--draft ${choice.kind} needs trained ${choice.kind} in ${assets}, which this model does not have; try --draft lookup`,
        );
      }
      throw new UnavailableError(
        `--draft ${choice.kind}: this build of @densessm/speculative cannot load ${assets} yet; try --draft lookup`,
      );
    }
    case 'auto': {
      // Copy-style drafters cost no model pass; a shipped draft model joins them when the folder has one.
      const parts: Drafter[] = [
        new speculative.PromptLookupDrafter(),
        new speculative.TokenRecyclingDrafter({ vocabSize: context.target.vocabSize }),
      ];
      const draftFolder = join(context.modelFolder, 'draft');
      let draftModel: LanguageModel | undefined;
      if (existsSync(join(draftFolder, 'config.json'))) {
        draftModel = await context.loadModel(draftFolder);
        parts.unshift(new speculative.DraftModelDrafter({ model: draftModel }));
      }
      return {
        drafter: new speculative.CompositeDrafter(parts),
        label: `auto (${parts.map((p) => p.name).join('+')})`,
        dispose: async () => draftModel?.dispose(),
      };
    }
  }
}
