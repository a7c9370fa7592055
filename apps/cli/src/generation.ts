import type { SequenceOptions, SequenceResult } from '@densessm/speculative';
import { acceptanceByDepth, meanAcceptedLength } from '@densessm/speculative';
import type { SamplingOptions } from './options.js';
import type { FinishReason, GenerationClock, GenerationStats } from './report.js';
import type { CliTokenizer } from './tokenizer.js';

/** CLI sampling flags -> the library's per-sequence options (0 / 1 mean "off" on the command line). */
export function toSequenceOptions(
  options: SamplingOptions,
  tokenizer: CliTokenizer,
): Omit<SequenceOptions, 'prompt' | 'signal'> {
  return {
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    topK: options.topK > 0 ? options.topK : undefined,
    topP: options.topP < 1 ? options.topP : undefined,
    seed: options.seed ?? (options.temperature > 0 ? Math.floor(Math.random() * 2 ** 31) : 0),
    stop: options.stop,
    decoder: tokenizer,
    eosTokenIds: tokenizer.eosTokenIds,
  };
}

const FINISH: Record<SequenceResult['finishReason'], FinishReason> = {
  length: 'length',
  eos: 'eos',
  stop: 'stop',
  abort: 'interrupted',
};

/** The numbers a finished sequence reports: library metrics plus the CLI's wall-clock view. */
export function speculativeStats(
  result: SequenceResult,
  promptTokens: number,
  clock: GenerationClock,
  drafter: string,
): GenerationStats {
  return {
    promptTokens,
    generatedTokens: result.tokens.length,
    seconds: clock.seconds,
    tokensPerSecond: clock.tokensPerSecond,
    timeToFirstTokenMs: clock.timeToFirstTokenMs,
    meanAcceptedLength: meanAcceptedLength(result.metrics),
    targetPasses: result.metrics.targetPasses,
    acceptanceByDepth: acceptanceByDepth(result.metrics),
    drafter,
    finishReason: FINISH[result.finishReason],
  };
}
