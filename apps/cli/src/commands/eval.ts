import { InterruptedError } from '../errors.js';
import { readTextFile } from '../input.js';
import { onInterrupt } from '../interrupt.js';
import type { ModelOptions, OutputOptions } from '../options.js';
import { computePerplexity, scoringWindows } from '../perplexity.js';
import { createProgress } from '../progress.js';
import { loadTarget, resolveModel } from '../runtime.js';
import { createTerminal, writeOut } from '../terminal.js';
import { checkTokenizerFits, loadTokenizer } from '../tokenizer.js';

export interface EvalCommandOptions extends ModelOptions, OutputOptions {
  window: number;
  stride?: number;
  limit?: number;
}

/** `densessm eval <file>`: perplexity of the model on a text file, strided sliding windows. */
export async function runEval(file: string, options: EvalCommandOptions): Promise<void> {
  const folder = await resolveModel(options.model);
  const stride = options.stride ?? Math.max(1, Math.floor(options.window / 2));
  scoringWindows(2, options.window, stride); // validates --window/--stride before anything slow
  const text = await readTextFile(file, 'eval file');
  const terminal = createTerminal({ quiet: options.quiet === true || options.json === true });

  const tokenizer = await loadTokenizer(folder);

  const target = await loadTarget(folder, options, terminal);
  const interrupt = onInterrupt();
  try {
    checkTokenizerFits(tokenizer, target.model, terminal);
    let tokens = Int32Array.from(tokenizer.encode(text));
    if (options.limit !== undefined && tokens.length > options.limit)
      tokens = tokens.subarray(0, options.limit);
    const progress = createProgress({
      label: 'eval',
      total: Math.max(tokens.length - 1, 0),
      unit: 'tokens',
      quiet: terminal.quiet,
    });
    const started = performance.now();
    const result = await computePerplexity(target.model, tokens, {
      window: options.window,
      stride,
      signal: interrupt.signal,
      onProgress: (scored) => progress.update(scored),
    }).finally(() => progress.stop());
    const seconds = (performance.now() - started) / 1000;
    const report = {
      file,
      model: folder,
      perplexity: result.perplexity,
      meanNll: result.meanNll,
      bitsPerToken: result.meanNll / Math.LN2,
      tokens: tokens.length,
      scoredTokens: result.scoredTokens,
      window: options.window,
      stride,
      windows: result.windows,
      seconds,
      tokensPerSecond: result.scoredTokens / seconds,
    };
    if (options.json) {
      await writeOut(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      await writeOut(`perplexity ${result.perplexity.toFixed(4)}\n`);
      terminal.info(
        terminal.paintErr(
          'dim',
          `${result.scoredTokens} tokens scored in ${result.windows} windows (window ${options.window}, stride ${stride}), ` +
            `${result.meanNll.toFixed(4)} nats/token, ${seconds.toFixed(2)} s (${report.tokensPerSecond.toFixed(0)} tokens/s)`,
        ),
      );
    }
  } catch (error) {
    if (interrupt.interrupted) throw new InterruptedError();
    throw error;
  } finally {
    interrupt.release();
    await target.model.dispose();
  }
}
