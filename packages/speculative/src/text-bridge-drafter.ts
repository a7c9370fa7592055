import type { LanguageModel, SequenceState } from '@densessm/models';
import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { greedyToken } from './sampling.js';

/** Text conversions between the target's and the draft model's tokenizers. */
export interface TokenizerBridge {
  targetToText(ids: readonly number[]): string;
  textToTarget(text: string): number[];
  draftToText(ids: readonly number[]): string;
  textToDraft(text: string): number[];
}

export interface TextBridgeOptions {
  /** A draft model with its own tokenizer. */
  model: LanguageModel;
  bridge: TokenizerBridge;
  /** Draft-model tokens generated per round (default 8). */
  draftTokens?: number;
  /**
   * Last draft tokens of the re-tokenized context never folded into the kept draft state: a tokenizer may
   * tokenize a text's end differently once more text follows (default 4).
   */
  unstableTail?: number;
}

interface BridgedSequence {
  state: SequenceState;
  readonly fed: number[];
}

/**
 * A draft model with a different tokenizer, bridged through text (as in Hugging Face's universal assisted
 * generation): the context is decoded with the target's tokenizer and re-encoded with the draft's; the draft
 * state keeps everything but an unstable tail; the draft model continues greedily, and its text is
 * re-encoded into target tokens as a deterministic chain. Whatever the bridge gets wrong only costs
 * acceptance: the verifier checks deterministic drafts exactly (greedy match or sample-and-compare).
 * Re-decoding the whole context each round costs O(context) per round.
 */
export class TextBridgeDrafter implements Drafter {
  readonly name = 'text-bridge-draft-model';
  private readonly model: LanguageModel;
  private readonly bridge: TokenizerBridge;
  private readonly draftTokens: number;
  private readonly unstableTail: number;
  private readonly sequences = new Map<number, BridgedSequence>();

  constructor(options: TextBridgeOptions) {
    this.model = options.model;
    this.bridge = options.bridge;
    this.draftTokens = options.draftTokens ?? 8;
    this.unstableTail = options.unstableTail ?? 4;
    if (!(this.draftTokens >= 1 && this.unstableTail >= 1)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        'TextBridgeDrafter needs draftTokens >= 1 and unstableTail >= 1.',
      );
    }
  }

  removeSequence(sequenceId: number): void {
    this.sequences.delete(sequenceId);
  }

  async propose(requests: readonly DraftRequest[]): Promise<DraftTree[]> {
    const texts = requests.map((r) => this.bridge.targetToText(r.tokens));
    const draftIds = texts.map((text) => this.bridge.textToDraft(text));
    // Fold the stable part of each re-tokenized context into the kept draft state.
    const feeds: { state: SequenceState; tokens: Int32Array }[] = [];
    const tails = requests.map((r, i) => {
      const ids = draftIds[i];
      const stable = Math.max(0, ids.length - this.unstableTail);
      let s = this.sequences.get(r.sequenceId);
      if (!s || s.fed.length > stable || s.fed.some((t, k) => t !== ids[k])) {
        s = { state: this.model.newState(), fed: [] };
        this.sequences.set(r.sequenceId, s);
      }
      if (stable > s.fed.length) {
        const fresh = ids.slice(s.fed.length, stable);
        feeds.push({ state: s.state, tokens: Int32Array.from(fresh) });
        s.fed.push(...fresh);
      }
      return ids.slice(stable);
    });
    if (feeds.length > 0) await this.model.prefill(feeds);
    // Continue greedily from a copy: the unstable tail, then `draftTokens` new draft tokens.
    const work = requests.map((r) => this.sequences.get(r.sequenceId)!.state.clone());
    const active = requests.map((_, i) => i).filter((i) => tails[i].length > 0);
    const drafted: number[][] = requests.map(() => []);
    if (active.length === 0) return requests.map((r) => new DraftTree(r.tokens[r.tokens.length - 1]));
    let outputs = await this.model.prefill(
      active.map((i) => ({ state: work[i], tokens: Int32Array.from(tails[i]) })),
    );
    for (let k = 0; k < this.draftTokens; k++) {
      const next = outputs.map((o) => greedyToken(o.logits, 0, this.model.vocabSize));
      active.forEach((i, j) => {
        drafted[i].push(next[j]);
      });
      if (k + 1 < this.draftTokens)
        outputs = await this.model.step(active.map((i, j) => ({ state: work[i], token: next[j] })));
    }
    return requests.map((r, i) => this.chain(r, texts[i], tails[i], drafted[i]));
  }

  /** The draft's text as target tokens, a chain below the root. */
  private chain(
    request: DraftRequest,
    context: string,
    tail: readonly number[],
    drafted: readonly number[],
  ): DraftTree {
    const tree = new DraftTree(request.tokens[request.tokens.length - 1]);
    const before = this.bridge.draftToText(tail);
    const after = this.bridge.draftToText([...tail, ...drafted]);
    if (!after.startsWith(before)) return tree;
    const extended = this.bridge.textToTarget(context + after.slice(before.length));
    const prefixKept = request.tokens.every((t, k) => extended[k] === t);
    const proposal = prefixKept
      ? extended.slice(request.tokens.length)
      : this.bridge.textToTarget(after.slice(before.length));
    let node = 0;
    for (const token of proposal.slice(0, request.budget))
      node = tree.addChild(node, token, { score: tree.scores[node] * 0.6 });
    return tree;
  }
}
