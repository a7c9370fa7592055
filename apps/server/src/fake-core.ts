import {
  type BatchCore,
  CoreRequestError,
  type CoreSequence,
  type FakeCoreOptions,
  type RoundOutput,
} from './core.js';
import type { EngineInfo, EngineRequest, SpeculationSummary } from './engine.js';

/**
 * A test double for the inference core: no model, no tokenizer. A "token" is a word from a fixed list; greedy
 * output is a pure function of the prompt and the position, sampled output of the seed too, so batching can never
 * change it. Each round blocks its thread like onnxruntime-node's synchronous `run` and accepts a pseudo-random
 * number of draft tokens. It exists to exercise the HTTP layer and the scheduler while the real packages land;
 * its word splitting and stop handling are deliberately naive and are not the engine's.
 */
const WORDS = [
  'state',
  'space',
  'model',
  'dense',
  'hidden',
  'retention',
  'decay',
  'token',
  'tree',
  'draft',
  'verify',
  'commit',
  'accept',
  'path',
  'layer',
  'gate',
  'fusion',
  'scan',
  'chunk',
  'kernel',
  'batch',
  'round',
  'slot',
  'queue',
  'stream',
  'delta',
  'prefix',
  'suffix',
  'logit',
  'sample',
  'greedy',
  'seed',
];

const blocker = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread, as a synchronous inference call would. */
function blockFor(ms: number): void {
  if (ms > 0) Atomics.wait(blocker, 0, 0, ms);
}

function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

interface FakeSequence extends CoreSequence {
  readonly key: number;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  readonly speculative: boolean;
  generated: number;
  readonly summary: SpeculationSummary;
  /** Text generated so far, and how much of it was already handed out. */
  text: string;
  emitted: number;
}

export class FakeCore implements BatchCore {
  readonly info: EngineInfo;
  private readonly roundMs: number;
  private readonly perSequenceMs: number;
  private readonly prefillMs: number;
  private readonly maxDraftLength: number;
  private live = 0;
  private roundsRun = 0;
  private readonly crashAtRound: number | undefined;

  constructor(options: FakeCoreOptions = {}) {
    this.roundMs = options.roundMs ?? 2;
    this.perSequenceMs = options.perSequenceMs ?? 0;
    this.prefillMs = options.prefillMs ?? 1;
    this.maxDraftLength = options.maxDraftLength ?? 4;
    this.crashAtRound = options.crashAtRound;
    this.info = {
      modelId: options.modelId ?? 'fake-dense-ssm',
      drafters: ['auto', 'none', 'fake-lookahead'],
      defaultDrafter: 'auto',
      contextLength: options.contextLength ?? 4096,
    };
  }

  /** Sequences admitted and not yet released (a leak shows here). */
  get liveSequences(): number {
    return this.live;
  }

  async admit(requests: readonly EngineRequest[]): Promise<(CoreSequence | CoreRequestError)[]> {
    blockFor(this.prefillMs);
    return requests.map((request) => {
      const asked = request.drafter ?? this.info.defaultDrafter;
      if (!this.info.drafters.includes(asked)) {
        return new CoreRequestError('unknown_drafter', `Unknown drafter '${asked}'.`);
      }
      const drafter = asked === 'auto' ? 'fake-lookahead' : asked;
      const prompt =
        request.input.kind === 'text'
          ? request.input.prompt
          : request.input.messages.map((m) => `${m.role}: ${m.content}`).join('\n');
      const promptTokens = Math.max(1, prompt.split(/\s+/).filter(Boolean).length);
      const contextLength = this.info.contextLength ?? Number.POSITIVE_INFINITY;
      if (promptTokens + request.sampling.maxTokens > contextLength) {
        return new CoreRequestError(
          'context_length_exceeded',
          `The prompt (${promptTokens} tokens) plus max_tokens (${request.sampling.maxTokens}) exceeds the context length ${contextLength}.`,
        );
      }
      const greedy = request.sampling.temperature === 0;
      const seed = request.sampling.seed ?? Math.floor(Math.random() * 2 ** 31);
      this.live++;
      const sequence: FakeSequence = {
        requestId: request.id,
        promptTokens,
        drafter,
        key: greedy ? fnv1a(prompt) : mix(fnv1a(prompt), seed),
        maxTokens: request.sampling.maxTokens,
        stop: request.sampling.stop,
        speculative: drafter !== 'none',
        generated: 0,
        summary: {
          targetPasses: 0,
          draftedPasses: 0,
          draftTokens: 0,
          acceptedTokens: 0,
          acceptedPerPosition: [],
          prefillMs: this.prefillMs,
        },
        text: '',
        emitted: 0,
      };
      return sequence;
    });
  }

  async round(sequences: readonly CoreSequence[]): Promise<RoundOutput[]> {
    blockFor(this.roundMs + this.perSequenceMs * sequences.length);
    if (++this.roundsRun === this.crashAtRound) process.exit(70);
    return sequences.map((s) => this.advance(s as FakeSequence));
  }

  release(sequence: CoreSequence): SpeculationSummary | null {
    this.live--;
    const s = sequence as FakeSequence;
    return s.speculative ? s.summary : { ...s.summary, acceptedPerPosition: [] };
  }

  async dispose(): Promise<void> {}

  private advance(s: FakeSequence): RoundOutput {
    const accepted = s.speculative ? mix(s.key, s.generated + 7919) % (this.maxDraftLength + 1) : 0;
    const count = Math.min(1 + accepted, s.maxTokens - s.generated);
    for (let i = 0; i < count; i++) {
      const word = WORDS[mix(s.key, s.generated + i) % WORDS.length]!;
      s.text += (s.generated + i === 0 ? '' : ' ') + word;
    }
    s.generated += count;
    const summary = s.summary;
    summary.targetPasses++;
    if (s.speculative) {
      const acceptedHere = Math.min(accepted, count - 1);
      summary.draftedPasses++;
      summary.draftTokens += this.maxDraftLength;
      summary.acceptedTokens += acceptedHere;
      for (let d = 0; d < acceptedHere; d++)
        summary.acceptedPerPosition[d] = (summary.acceptedPerPosition[d] ?? 0) + 1;
    }
    let finished: RoundOutput['finished'] = null;
    let end = s.text.length;
    const stopAt = firstStop(s.text, s.stop, s.emitted);
    if (stopAt >= 0) {
      end = stopAt;
      finished = 'stop';
    } else if (s.generated >= s.maxTokens) {
      finished = 'length';
    } else {
      end = s.text.length - heldBack(s.text, s.stop);
    }
    const text = s.text.slice(s.emitted, Math.max(end, s.emitted));
    s.emitted = Math.max(end, s.emitted);
    return { text, tokens: count, finished };
  }
}

function firstStop(text: string, stops: readonly string[], from: number): number {
  let best = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop, Math.max(0, from - stop.length));
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function heldBack(text: string, stops: readonly string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(stop.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}
