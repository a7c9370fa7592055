import { createInterface } from 'node:readline';
import { generate } from '@densessm/speculative';
import { InterruptedError } from '../errors.js';
import { speculativeStats, toSequenceOptions } from '../generation.js';
import {
  checkSampling,
  type ModelOptions,
  type OutputOptions,
  parseDrafter,
  type SamplingOptions,
} from '../options.js';
import { formatStatsLine, GenerationClock } from '../report.js';
import { openGenerationSession, resolveModel } from '../runtime.js';
import { createTerminal, painter, writeOut } from '../terminal.js';
import type { ChatMessage } from '../tokenizer.js';

export interface ChatCommandOptions extends ModelOptions, SamplingOptions, OutputOptions {
  draft: string;
  system?: string;
}

/**
 * `densessm chat`: a multi-turn conversation through the model's chat template. One drafter serves every turn,
 * so what it learns (Token Recycling's successor table, earlier turns for prompt lookup) carries over.
 * Ctrl-C stops the current reply; at the prompt it ends the chat (exit 130). Ctrl-D or /exit end it normally.
 */
export async function runChat(options: ChatCommandOptions): Promise<void> {
  const drafterChoice = parseDrafter(options.draft);
  checkSampling(options);
  const folder = await resolveModel(options.model);
  const interactive = process.stdin.isTTY === true && options.json !== true;
  const terminal = createTerminal({ quiet: options.quiet === true || options.json === true });
  const paintOut = painter(process.stdout);

  const {
    tokenizer,
    target,
    drafter: prepared,
    close,
  } = await openGenerationSession(folder, options, drafterChoice, terminal);
  if (!tokenizer.hasOwnChatTemplate) {
    terminal.warn(`${folder} ships no chat template; using plain "User:/Assistant:" turns`);
  }

  const history: ChatMessage[] = options.system ? [{ role: 'system', content: options.system }] : [];
  const lines = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
  });
  let replying: AbortController | undefined;
  let interruptedAtPrompt = false;
  const onSigint = () => {
    if (replying !== undefined) {
      replying.abort();
      return;
    }
    interruptedAtPrompt = true;
    lines.close();
  };
  lines.on('SIGINT', onSigint);
  process.on('SIGINT', onSigint);
  if (interactive) {
    terminal.info(
      terminal.paintErr(
        'dim',
        `chatting with ${folder} (drafter ${prepared.label}); /reset to start over, /exit to quit`,
      ),
    );
    lines.setPrompt(paintOut('green', '> '));
    lines.prompt();
  }

  let turn = 0;
  try {
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        history.splice(options.system ? 1 : 0);
        if (interactive) {
          terminal.info(terminal.paintErr('dim', '(conversation cleared)'));
          lines.prompt();
        }
        continue;
      }
      if (line === '') {
        if (interactive) lines.prompt();
        continue;
      }
      turn++;
      history.push({ role: 'user', content: line });
      const promptIds = tokenizer.encodeChat(history);
      replying = new AbortController();
      const clock = new GenerationClock();
      const { sequences, done } = generate(target.model, [promptIds], {
        ...toSequenceOptions(options, tokenizer),
        eosTokenIds: tokenizer.chatStopTokenIds,
        drafter: prepared.drafter,
        signal: replying.signal,
      });
      for await (const token of sequences[0]) {
        clock.tokenArrived();
        if (!options.json && token.text !== '') await writeOut(token.text);
      }
      const result = await sequences[0].result;
      await done;
      clock.end();
      replying = undefined;
      const stats = speculativeStats(result, promptIds.length, clock, prepared.label);
      history.push({ role: 'assistant', content: result.text });
      if (options.json) {
        await writeOut(`${JSON.stringify({ turn, user: line, text: result.text, stats })}\n`);
      } else {
        await writeOut('\n');
        terminal.info(formatStatsLine(stats, terminal.paintErr));
      }
      if (!interactive && result.finishReason === 'abort')
        throw new InterruptedError(`interrupted in turn ${turn}`);
      if (interactive) lines.prompt();
    }
  } finally {
    lines.off('SIGINT', onSigint);
    process.off('SIGINT', onSigint);
    lines.close();
    await close();
  }
  if (interruptedAtPrompt) throw new InterruptedError();
  if (interactive) await writeOut('\n');
}
