import type { LanguageModel, SequenceState, VerifyOutput } from '@densessm/models';
import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest, VerifyOutcome } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { gumbelTopK } from './gumbel-top-k.js';
import { isGreedy, samplingDistribution } from './sampling.js';
import { topTokens } from './top-tokens.js';

export interface DraftModelOptions {
  /** A smaller model with the target's tokenizer. */
  model: LanguageModel;
  /** Candidate children per expanded node (default 3). */
  branching?: number;
  /** Deepest draft node (default 8). */
  maxDepth?: number;
  /** Nodes added per draft pass; each pass scores the whole tree so far (default 4). */
  expansionWidth?: number;
  /**
   * SpecDec++ stop rule (Huang et al. 2024): stop growing when the estimated probability that some draft on
   * the best remaining path is rejected exceeds this. The estimate is 1 - (product of draft probabilities).
   */
  stopThreshold?: number;
}

/** A scored node's candidate children, in the order they are added (Gumbel-Top-k draw order when sampling). */
interface Expansion {
  readonly q: Float64Array;
  readonly candidates: number[];
  next: number;
}

interface Drafting {
  readonly request: DraftRequest;
  readonly tree: DraftTree;
  readonly expansions: (Expansion | undefined)[];
  frontier: number[];
  verified?: VerifyOutput;
  covered: number;
}

/**
 * Drafting with a smaller model (Leviathan et al. 2023; Chen et al. 2023) that keeps its own state per
 * sequence. Trees grow DySpec-style (Xiong et al. 2024): the candidate with the highest draft path
 * probability is added next, wherever it hangs, a few per draft pass (one ragged `verify` of the draft
 * model over every sequence's tree so far). Greedy requests take each node's top tokens (deterministic
 * drafts); sampling requests draw children without replacement by Gumbel-Top-k from the draft's q, shaped
 * like the target's p, and record q for the recursive verifier. After verification the accepted path is
 * committed to the draft state from the draft's own verify deltas; tokens accepted elsewhere (where the path left
 * the draft tree, or in rounds the drafter was not asked) are prefilled in one chunk at the next propose.
 */
export class DraftModelDrafter implements Drafter {
  readonly name = 'draft-model';
  private readonly model: LanguageModel;
  private readonly branching: number;
  private readonly maxDepth: number;
  private readonly expansionWidth: number;
  private readonly stopThreshold: number;
  private readonly states = new Map<number, SequenceState>();
  private readonly lastDrafts = new Map<number, Drafting>();
  /** Accepted tokens not yet fed to the draft state (rounds the drafter was not asked for the sequence). */
  private readonly unsynced = new Map<number, number[]>();

  constructor(options: DraftModelOptions) {
    this.model = options.model;
    this.branching = options.branching ?? 3;
    this.maxDepth = options.maxDepth ?? 8;
    this.expansionWidth = options.expansionWidth ?? 4;
    this.stopThreshold = options.stopThreshold ?? 0.9;
    if (
      !(
        this.branching >= 1 &&
        this.maxDepth >= 1 &&
        this.expansionWidth >= 1 &&
        this.stopThreshold > 0 &&
        this.stopThreshold <= 1
      )
    ) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        'DraftModelDrafter needs branching, maxDepth, expansionWidth >= 1 and stopThreshold in (0, 1].',
      );
    }
  }

  async addSequences(sequences: readonly { sequenceId: number; prompt: Int32Array }[]): Promise<void> {
    const items = sequences.map(({ prompt }) => {
      const bad = prompt.find((t) => t >= this.model.vocabSize);
      if (bad !== undefined) {
        throw new SpeculativeError(
          'MODEL_MISMATCH',
          `Token ${bad} is outside the draft model's vocabulary: the draft model must share the target's tokenizer.`,
        );
      }
      return { state: this.model.newState(), tokens: prompt };
    });
    await this.model.prefill(items);
    sequences.forEach(({ sequenceId }, i) => {
      this.states.set(sequenceId, items[i].state);
    });
  }

  removeSequence(sequenceId: number): void {
    this.states.delete(sequenceId);
    this.lastDrafts.delete(sequenceId);
    this.unsynced.delete(sequenceId);
  }

  async propose(requests: readonly DraftRequest[]): Promise<DraftTree[]> {
    // Catch the draft states up on what was accepted while they were not asked: one chunked prefill each.
    const catchUp = requests
      .filter((r) => this.unsynced.has(r.sequenceId))
      .map((r) => ({
        state: this.stateOf(r.sequenceId),
        tokens: Int32Array.from(this.unsynced.get(r.sequenceId)!),
      }));
    for (const r of requests) this.unsynced.delete(r.sequenceId);
    if (catchUp.length > 0) await this.model.prefill(catchUp);
    const work: Drafting[] = requests.map((request) => ({
      request,
      tree: new DraftTree(request.tokens[request.tokens.length - 1]),
      expansions: [],
      frontier: request.budget > 0 ? [0] : [],
      covered: 0,
    }));
    for (;;) {
      const scoring = work.filter((w) => w.frontier.length > 0);
      if (scoring.length === 0) break;
      const hiddenSize = this.model.hiddenSize;
      const outputs = await this.model.verify(
        scoring.map((w) => ({
          state: this.stateOf(w.request.sequenceId),
          tree: w.tree.toTokenTree(hiddenSize),
        })),
      );
      scoring.forEach((w, i) => {
        w.verified = outputs[i];
        w.covered = w.tree.size;
        for (const node of w.frontier) w.expansions[node] = this.expand(w, outputs[i].logits, node);
        w.frontier = this.grow(w);
      });
    }
    for (const w of work) this.lastDrafts.set(w.request.sequenceId, w);
    return work.map((w) => w.tree);
  }

  async observe(outcomes: readonly VerifyOutcome[]): Promise<void> {
    const commits: { state: SequenceState; verified: VerifyOutput; path: number[] }[] = [];
    for (const outcome of outcomes) {
      const state = this.states.get(outcome.sequenceId);
      if (!state) continue;
      const accepted = outcome.tree.pathTokens(outcome.path[outcome.path.length - 1]);
      const draft = this.lastDrafts.get(outcome.sequenceId);
      this.lastDrafts.delete(outcome.sequenceId);
      const path = draft?.verified ? this.locate(draft, accepted) : undefined;
      if (draft?.verified && path) commits.push({ state, verified: draft.verified, path });
      // Fed at the next propose, in one chunk with whatever else is accepted before then.
      else
        this.unsynced.set(outcome.sequenceId, [
          ...(this.unsynced.get(outcome.sequenceId) ?? []),
          ...accepted,
        ]);
    }
    if (commits.length > 0) await this.model.commit(commits);
  }

  private stateOf(sequenceId: number): SequenceState {
    const state = this.states.get(sequenceId);
    if (!state)
      throw new SpeculativeError(
        'UNKNOWN_SEQUENCE',
        `Sequence ${sequenceId} was never added to the draft model drafter.`,
      );
    return state;
  }

  private expand(w: Drafting, logits: Float32Array, node: number): Expansion {
    const vocab = this.model.vocabSize;
    const { sampling, tokens } = w.request;
    if (isGreedy(sampling)) {
      const q = samplingDistribution(logits, node * vocab, vocab, { temperature: 1 });
      return { q, candidates: topTokens(q, 0, vocab, this.branching), next: 0 };
    }
    const q = samplingDistribution(logits, node * vocab, vocab, { ...sampling, repetitionPenalty: 1 });
    const position = tokens.length + w.tree.depths[node];
    return { q, candidates: gumbelTopK(q, this.branching, sampling.seed ?? 0, position, node), next: 0 };
  }

  /**
   * Adds the best candidates in draw order; returns the new nodes to score. Greedy drafts rank by draft path
   * probability. A sampled draw is ranked before it is looked at, by its parent's path probability times the
   * q-mass its node has not drawn yet, so keeping a draw never depends on its own value (see DraftNodeOptions).
   */
  private grow(w: Drafting): number[] {
    const added: number[] = [];
    const greedy = isGreedy(w.request.sampling);
    const priorityOf = (node: number, e: Expansion): number => {
      if (greedy) return w.tree.scores[node] * e.q[e.candidates[e.next]];
      let drawn = 0;
      for (let k = 0; k < e.next; k++) drawn += e.q[e.candidates[k]];
      return w.tree.scores[node] * (1 - drawn);
    };
    while (added.length < this.expansionWidth && w.tree.size - 1 < w.request.budget) {
      let best = -1;
      let bestPriority = 1 - this.stopThreshold;
      w.expansions.forEach((e, node) => {
        if (!e || e.next >= e.candidates.length || w.tree.depths[node] >= this.maxDepth) return;
        const priority = priorityOf(node, e);
        if (priority >= bestPriority) {
          best = node;
          bestPriority = priority;
        }
      });
      if (best < 0) break;
      const e = w.expansions[best]!;
      const token = e.candidates[e.next++];
      const proposal = greedy ? undefined : { distribution: e.q, withoutReplacement: true };
      const score = w.tree.scores[best] * e.q[token];
      const child = w.tree.addChild(best, token, { score, priority: bestPriority, proposal });
      if (w.tree.depths[child] < this.maxDepth) added.push(child);
    }
    // A full tree needs no more scoring: its newest nodes will not be expanded.
    return w.tree.size - 1 >= w.request.budget ? [] : added;
  }

  /** The accepted tokens as a path of draft-tree nodes the draft model has scored, or undefined. */
  private locate(draft: Drafting, accepted: readonly number[]): number[] | undefined {
    const path = [0];
    for (let k = 1; k < accepted.length; k++) {
      const node = path[path.length - 1];
      const child = draft.tree
        .children(node)
        .find((c) => draft.tree.tokens[c] === accepted[k] && draft.tree.lookahead[c] === undefined);
      if (child === undefined || child >= draft.covered) return undefined;
      path.push(child);
    }
    return draft.tree.root === accepted[0] ? path : undefined;
  }
}
