import type { LanguageModel, SequenceState, VerifyOutput } from '@densessm/models';
import { type AdaptiveOptions, SpeculationPolicy } from './adaptive-speculation.js';
import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest, VerifyOutcome } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { addMetrics, emptyMetrics, recordPass, type SpeculationMetrics } from './metrics.js';
import { isGreedy, type SamplingOptions, validateSamplingOptions } from './sampling.js';
import { type GeneratedToken, StopStringMatcher, type TokenDecoder } from './stop-strings.js';
import { type TreeVerdict, type VerifyContext, verifyTreeGreedy, verifyTreeSampling } from './verify-tree.js';

/** One request: a prompt and how to end and shape its continuation. */
export interface SequenceOptions extends SamplingOptions {
  prompt: Int32Array | readonly number[];
  /** Most tokens to generate (default 256). */
  maxTokens?: number;
  /** Tokens that end the sequence (not emitted). */
  eosTokenIds?: readonly number[];
  /** Strings that end the sequence (never emitted); needs `decoder`. */
  stop?: readonly string[];
  /** Turns tokens into text for `GeneratedToken.text` and stop strings. */
  decoder?: TokenDecoder;
  /** Aborting ends the sequence at the start of the next round. */
  signal?: AbortSignal;
}

export type FinishReason = 'length' | 'eos' | 'stop' | 'abort';

export interface SequenceResult {
  readonly sequenceId: number;
  readonly tokens: number[];
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly metrics: SpeculationMetrics;
}

/** What one round did to one sequence. */
export interface RoundEvent {
  readonly sequenceId: number;
  readonly tokens: GeneratedToken[];
  /** Set when the sequence ended this round (it has left the batch). */
  readonly result?: SequenceResult;
}

export interface SpeculativeBatchOptions {
  /** Omit for plain decoding (one token per target pass). */
  drafter?: Drafter;
  /**
   * Most draft nodes per sequence per round: what drafters are asked for; adaptation then keeps the ones that
   * pay (default 32: on CPU a 32-node verify costs about 2x a step, see bench/results/models-*.json).
   */
  maxDraftNodes?: number;
  /** Cap on draft nodes over the whole batch per round (default unlimited). */
  maxBatchDraftNodes?: number;
  /**
   * Cut each round's trees to the nodes whose measured acceptance pays for their measured cost, which also
   * turns speculation off where nothing pays (default on, see `SpeculationPolicy`); `false` verifies whatever
   * the drafter proposes within `maxDraftNodes`.
   */
  adaptive?: boolean | AdaptiveOptions;
}

interface Sequence {
  readonly id: number;
  readonly options: SequenceOptions;
  readonly sampling: SamplingOptions;
  readonly tokens: number[];
  readonly promptLength: number;
  readonly seen: Uint8Array;
  readonly matcher: StopStringMatcher;
  readonly eos: Set<number>;
  readonly maxTokens: number;
  readonly metrics: SpeculationMetrics;
  /** Whether the policy cut every node the drafter proposed the last time it was asked for this sequence. */
  allCutLastRound: boolean;
  state: SequenceState | undefined;
  hidden: Float32Array | undefined;
  generated: number;
}

const defaultMaxTokens = 256;

/**
 * The batched speculative loop, one round at a time, for a caller (generate(), a server's continuous
 * batcher) that adds and removes sequences between rounds. Each round: new sequences are prefilled; every
 * active sequence gets its own tree from the drafter; one ragged `verify` scores all trees; each sequence
 * accepts its own path and commits it (EMS-SD-style batching without padding, Ni et al. 2024); the bonus
 * token becomes its next root. When no sequence has a draft the round is a plain `step`.
 */
export class SpeculativeBatch {
  private readonly sequences = new Map<number, Sequence>();
  private readonly totals = emptyMetrics();
  private readonly maxDraftNodes: number;
  private readonly policy: SpeculationPolicy | undefined;
  private nextId = 0;
  private readonly wall = { batchPasses: 0, prefillMs: 0, draftMs: 0, verifyMs: 0, commitMs: 0 };

  constructor(
    readonly model: LanguageModel,
    private readonly options: SpeculativeBatchOptions = {},
  ) {
    this.maxDraftNodes = options.maxDraftNodes ?? 32;
    if (!(Number.isInteger(this.maxDraftNodes) && this.maxDraftNodes >= 0)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        `maxDraftNodes must be an integer >= 0, got ${options.maxDraftNodes}.`,
      );
    }
    if (options.adaptive !== false && options.drafter) {
      this.policy = new SpeculationPolicy(typeof options.adaptive === 'object' ? options.adaptive : {});
    }
  }

  /** Sequences still generating. */
  get size(): number {
    return this.sequences.size;
  }

  /**
   * Totals over every sequence that has taken part, finished or not. Counts are summed over sequences; times
   * are the batch's own wall time (a sequence's `metrics` hold the time of the rounds it took part in).
   */
  get metrics(): SpeculationMetrics {
    const total = emptyMetrics();
    addMetrics(total, this.totals);
    for (const s of this.sequences.values()) addMetrics(total, s.metrics);
    return { ...total, ...this.wall };
  }

  /** Adds a sequence; it is prefilled at the start of the next round. Returns its id. */
  add(options: SequenceOptions): number {
    validateSamplingOptions(options);
    const prompt = Array.from(options.prompt);
    if (prompt.length === 0)
      throw new SpeculativeError('INVALID_OPTION', 'A prompt needs at least one token (e.g. the BOS token).');
    const vocab = this.model.vocabSize;
    const bad = prompt.find((t) => !(Number.isInteger(t) && t >= 0 && t < vocab));
    if (bad !== undefined)
      throw new SpeculativeError(
        'INVALID_OPTION',
        `Prompt token ${bad} is outside the model's vocabulary of ${vocab}.`,
      );
    if (options.stop?.length && !options.decoder) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        'Stop strings need a decoder ({ decode(ids): string }) to see the text.',
      );
    }
    const maxTokens = options.maxTokens ?? defaultMaxTokens;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1))
      throw new SpeculativeError('INVALID_OPTION', `maxTokens must be an integer >= 1, got ${maxTokens}.`);
    const id = this.nextId++;
    const seen = new Uint8Array(vocab);
    for (const t of prompt) seen[t] = 1;
    this.sequences.set(id, {
      id,
      options,
      sampling: {
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        repetitionPenalty: options.repetitionPenalty,
        seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
      },
      tokens: prompt,
      promptLength: prompt.length,
      seen,
      matcher: new StopStringMatcher(options.decoder, options.stop),
      eos: new Set(options.eosTokenIds ?? []),
      maxTokens,
      metrics: emptyMetrics(),
      allCutLastRound: false,
      state: undefined,
      hidden: undefined,
      generated: 0,
    });
    return id;
  }

  /** Ends a sequence now (finish reason `abort`); returns its result, or undefined if it is not in the batch. */
  remove(sequenceId: number): SequenceResult | undefined {
    const s = this.sequences.get(sequenceId);
    return s ? this.finish(s, 'abort') : undefined;
  }

  /** Runs one round for every sequence in the batch; returns what each produced. */
  async runRound(): Promise<RoundEvent[]> {
    const events = new Map<number, GeneratedToken[]>();
    const results: SequenceResult[] = [];
    const emit = (s: Sequence, token: number): void => {
      const ended = this.append(s, token, events);
      if (ended) results.push(this.finish(s, ended, events));
    };
    for (const s of [...this.sequences.values()]) {
      if (s.options.signal?.aborted) results.push(this.finish(s, 'abort', events));
    }
    await this.prefillNew(emit);
    const active = [...this.sequences.values()].filter((s) => s.state !== undefined);
    if (active.length > 0) await this.speculate(active, emit);
    const out: RoundEvent[] = [];
    for (const [sequenceId, tokens] of events) out.push({ sequenceId, tokens });
    for (const result of results) {
      const at = out.findIndex((e) => e.sequenceId === result.sequenceId);
      const event = { sequenceId: result.sequenceId, tokens: at >= 0 ? out[at].tokens : [], result };
      if (at >= 0) out[at] = event;
      else out.push(event);
    }
    return out;
  }

  private get needsHidden(): boolean {
    return this.options.drafter?.needsHidden === true;
  }

  private async prefillNew(emit: (s: Sequence, token: number) => void): Promise<void> {
    const fresh = [...this.sequences.values()].filter((s) => s.state === undefined);
    if (fresh.length === 0) return;
    const started = performance.now();
    const items = fresh.map((s) => ({ state: this.model.newState(), tokens: Int32Array.from(s.tokens) }));
    const outputs = await this.model.prefill(items, { hidden: this.needsHidden });
    await this.options.drafter?.addSequences?.(
      fresh.map((s) => ({ sequenceId: s.id, prompt: Int32Array.from(s.tokens) })),
    );
    const elapsed = performance.now() - started;
    this.wall.prefillMs += elapsed;
    fresh.forEach((s, i) => {
      s.state = items[i].state;
      s.hidden = outputs[i].hidden;
      s.metrics.prefillMs += elapsed;
      const tree = new DraftTree(0);
      const verdict = this.choose(s, tree, outputs[i].logits, s.tokens.length - 1);
      emit(s, verdict.bonus);
    });
  }

  /** Picks the token after the logits row 0 of `logits` (a one-node "tree"), as plain decoding would. */
  private choose(s: Sequence, tree: DraftTree, logits: Float32Array, rootPosition: number): TreeVerdict {
    const context: VerifyContext = {
      tree,
      logits,
      vocabSize: this.model.vocabSize,
      sampling: s.sampling,
      seen: s.seen,
      rootPosition,
    };
    return isGreedy(s.sampling) ? verifyTreeGreedy(context) : verifyTreeSampling(context);
  }

  private budgets(active: readonly Sequence[]): number[] {
    const policy = this.policy;
    if (!this.options.drafter || policy?.plainProbe) return active.map(() => 0);
    const cap = this.options.maxBatchDraftNodes;
    const each =
      cap === undefined ? this.maxDraftNodes : Math.min(this.maxDraftNodes, Math.floor(cap / active.length));
    return active.map((s) => (policy && !policy.wantsDraft(s.allCutLastRound) ? 0 : each));
  }

  private async speculate(active: Sequence[], emit: (s: Sequence, token: number) => void): Promise<void> {
    const drafter = this.options.drafter;
    const roundStart = performance.now();
    const budgets = this.budgets(active);
    let trees = active.map((s) => new DraftTree(s.tokens[s.tokens.length - 1]));
    const drafting = active.map((_, i) => i).filter((i) => budgets[i] > 0);
    let draftMs = 0;
    if (drafter && drafting.length > 0) {
      const requests: DraftRequest[] = drafting.map((i) => ({
        sequenceId: active[i].id,
        tokens: active[i].tokens,
        budget: budgets[i],
        sampling: active[i].sampling,
        hidden: active[i].hidden,
      }));
      const proposed = await drafter.propose(requests);
      drafting.forEach((i, k) => {
        const tree = proposed[k];
        if (tree.root !== trees[i].root || tree.size - 1 > budgets[i]) {
          throw new SpeculativeError(
            'INVALID_TREE',
            `Drafter ${drafter.name} returned a tree with root ${tree.root} and ${tree.size - 1} nodes for root ${trees[i].root} and budget ${budgets[i]}: drafters must root trees at the request's root and stay within budget.`,
          );
        }
        trees[i] = tree;
      });
      if (this.policy) {
        const cut = this.policy.select(trees);
        // Sequences not asked this round keep their flag, so a skipped drafter stays skipped until a probe.
        for (const i of drafting) active[i].allCutLastRound = trees[i].size > 1 && cut[i].size === 1;
        trees = cut;
      }
      draftMs += performance.now() - roundStart;
    }

    const verifyStart = performance.now();
    const hiddenOption = { hidden: this.needsHidden };
    const rows: { logits: Float32Array; hidden?: Float32Array }[] = [];
    let verified: VerifyOutput[] | undefined;
    if (trees.every((t) => t.size === 1)) {
      const outputs = await this.model.step(
        active.map((s, i) => ({ state: s.state!, token: trees[i].root })),
        hiddenOption,
      );
      for (const o of outputs) rows.push({ logits: o.logits, hidden: o.hidden });
    } else {
      const hiddenSize = this.model.hiddenSize;
      verified = await this.model.verify(
        active.map((s, i) => ({ state: s.state!, tree: trees[i].toTokenTree(hiddenSize) })),
        hiddenOption,
      );
      for (const o of verified) rows.push({ logits: o.logits, hidden: o.hidden });
    }
    const verdicts = active.map((s, i) => this.choose(s, trees[i], rows[i].logits, s.tokens.length - 1));
    const verifyMs = performance.now() - verifyStart;

    const commitStart = performance.now();
    const committed = verified;
    if (committed) {
      await this.model.commit(
        active.map((s, i) => ({ state: s.state!, verified: committed[i], path: verdicts[i].path })),
      );
    }
    const commitMs = performance.now() - commitStart;

    const observeStart = performance.now();
    if (drafter?.observe) {
      const outcomes: VerifyOutcome[] = active.map((s, i) => ({
        sequenceId: s.id,
        tree: trees[i],
        logits: rows[i].logits,
        vocabSize: this.model.vocabSize,
        hidden: rows[i].hidden,
        path: verdicts[i].path,
        bonus: verdicts[i].bonus,
      }));
      await drafter.observe(outcomes);
    }
    draftMs += performance.now() - observeStart;

    this.wall.batchPasses++;
    this.wall.draftMs += draftMs;
    this.wall.verifyMs += verifyMs;
    this.wall.commitMs += commitMs;
    active.forEach((s, i) => {
      const tree = trees[i];
      const { path, bonus } = verdicts[i];
      let draftDepth = 0;
      for (let n = 1; n < tree.size; n++)
        if (tree.lookahead[n] === undefined) draftDepth = Math.max(draftDepth, tree.depths[n]);
      recordPass(s.metrics, draftDepth, tree.draftCount, path.length - 1);
      s.metrics.emittedTokens += path.length;
      s.metrics.draftMs += draftMs;
      s.metrics.verifyMs += verifyMs;
      s.metrics.commitMs += commitMs;
      const hidden = rows[i].hidden;
      const last = path[path.length - 1];
      s.hidden = hidden?.subarray(last * this.model.hiddenSize, (last + 1) * this.model.hiddenSize);
      s.seen[tree.root] = 1;
      for (let k = 1; k < path.length && this.sequences.has(s.id); k++) {
        s.seen[tree.tokens[path[k]]] = 1;
        emit(s, tree.tokens[path[k]]);
      }
      if (this.sequences.has(s.id)) emit(s, bonus);
    });
    const roundMs = performance.now() - roundStart;
    this.policy?.observe(
      trees,
      verdicts.map((v) => v.path),
      verifyMs + commitMs,
      roundMs - verifyMs - commitMs,
      drafter !== undefined && drafting.length > 0,
    );
  }

  /** Appends a chosen token; returns why the sequence ends, if it does. */
  private append(
    s: Sequence,
    token: number,
    events: Map<number, GeneratedToken[]>,
  ): FinishReason | undefined {
    if (s.eos.has(token)) return 'eos';
    s.tokens.push(token);
    s.generated++;
    const released = s.matcher.push(token);
    if (released.length > 0) events.set(s.id, [...(events.get(s.id) ?? []), ...released]);
    if (s.matcher.stopped) return 'stop';
    if (s.generated >= s.maxTokens) return 'length';
    return undefined;
  }

  private finish(s: Sequence, reason: FinishReason, events?: Map<number, GeneratedToken[]>): SequenceResult {
    const released = s.matcher.flush();
    if (released.length > 0 && events) events.set(s.id, [...(events.get(s.id) ?? []), ...released]);
    this.sequences.delete(s.id);
    this.options.drafter?.removeSequence?.(s.id);
    addMetrics(this.totals, s.metrics);
    return {
      sequenceId: s.id,
      tokens: s.matcher.visibleTokens,
      text: s.matcher.visibleText,
      finishReason: reason,
      metrics: s.metrics,
    };
  }
}
