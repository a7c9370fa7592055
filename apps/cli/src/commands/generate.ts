import { generate } from '@densessm/speculative';
import { InterruptedError } from '../errors.js';
import { speculativeStats, toSequenceOptions } from '../generation.js';
import { readPrompt } from '../input.js';
import { onInterrupt } from '../interrupt.js';
import {
  checkSampling,
  type DrafterChoice,
  type ModelOptions,
  type OutputOptions,
  parseDrafter,
  type SamplingOptions,
} from '../options.js';
import { formatStatsLine, GenerationClock, type GenerationStats } from '../report.js';
import { openGenerationSession, resolveModel } from '../runtime.js';
import { createTerminal, writeOut } from '../terminal.js';

export interface GenerateCommandOptions extends ModelOptions, SamplingOptions, OutputOptions {
  file?: string;
  draft: string;
}

/** `densessm generate [prompt]`: stream a completion, then a line with the speed and acceptance numbers. */
export async function runGenerate(words: readonly string[], options: GenerateCommandOptions): Promise<void> {
  // Everything the user can get wrong is checked before the model is loaded.
  const drafterChoice: DrafterChoice = parseDrafter(options.draft);
  checkSampling(options);
  const folder = await resolveModel(options.model);
  const prompt = await readPrompt(words, options.file);
  const terminal = createTerminal({ quiet: options.quiet === true || options.json === true });

  const {
    tokenizer,
    target,
    drafter: prepared,
    close,
  } = await openGenerationSession(folder, options, drafterChoice, terminal);
  const promptIds = tokenizer.encode(prompt);
  const interrupt = onInterrupt();
  const clock = new GenerationClock();
  try {
    const sequenceOptions = toSequenceOptions(options, tokenizer);
    const { sequences, done } = generate(target.model, [promptIds], {
      ...sequenceOptions,
      drafter: prepared.drafter,
      signal: interrupt.signal,
    });
    const stream = sequences[0];
    for await (const token of stream) {
      clock.tokenArrived();
      if (!options.json && token.text !== '') await writeOut(token.text);
    }
    const result = await stream.result;
    await done;
    clock.end();
    const stats: GenerationStats = speculativeStats(result, promptIds.length, clock, prepared.label);
    if (options.json) {
      await writeOut(
        `${JSON.stringify({ model: folder, drafter: prepared.label, seed: sequenceOptions.seed, prompt, text: result.text, tokens: result.tokens, stats }, null, 2)}\n`,
      );
    } else {
      if (!result.text.endsWith('\n')) await writeOut('\n');
      terminal.info(formatStatsLine(stats, terminal.paintErr));
    }
    if (interrupt.interrupted)
      throw new InterruptedError(`interrupted after ${stats.generatedTokens} tokens`);
  } finally {
    interrupt.release();
    await close();
  }
}
