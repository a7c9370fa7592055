import type { ForwardOutput, LanguageModel, SequenceState, VerifyOutput } from '@densessm/models';
import { describe, expect, it } from 'vitest';
import { meanAcceptedLength, TextBridgeDrafter, type TokenizerBridge } from '../src/index.js';
import type { ToyLanguageModel } from '../src/testing.js';
import { collect, prompts, toyTarget, vocabSize } from './fixtures.js';

/**
 * A second tokenizer over the same text: each target token is one character, and the draft tokenizer spells
 * each character as two tokens (high and low octal digit of the target id: 0..5, then 8 + 0..7).
 */
const bridge: TokenizerBridge = {
  targetToText: (ids) => ids.map((t) => String.fromCharCode(0x100 + t)).join(''),
  textToTarget: (text) => Array.from(text, (c) => c.charCodeAt(0) - 0x100),
  draftToText: (ids) => {
    let text = '';
    for (let k = 0; k + 1 < ids.length; k += 2)
      text += String.fromCharCode(0x100 + ids[k] * 8 + (ids[k + 1] - 8));
    return text;
  },
  textToDraft: (text) =>
    Array.from(text, (c) => c.charCodeAt(0) - 0x100).flatMap((t) => [t >> 3, 8 + (t & 7)]),
};

class PairState implements SequenceState {
  constructor(
    readonly inner: SequenceState,
    public pending: number,
    public logits: Float32Array,
    public position: number,
  ) {}
  clone(): PairState {
    return new PairState(this.inner.clone(), this.pending, this.logits, this.position);
  }
  get byteSize(): number {
    return this.inner.byteSize;
  }
}

/** The target model seen through the two-tokens-per-character tokenizer: a perfect draft in another vocabulary. */
class PairTokenizedModel implements LanguageModel {
  readonly modelType = 'pair_tokenized';
  readonly vocabSize = 16;
  readonly hiddenSize: number;
  constructor(private readonly target: ToyLanguageModel) {
    this.hiddenSize = target.hiddenSize;
  }
  newState(): SequenceState {
    return new PairState(this.target.newState(), -1, new Float32Array(vocabSize), 0);
  }
  async prefill(items: readonly { state: SequenceState; tokens: Int32Array }[]): Promise<ForwardOutput[]> {
    const out: ForwardOutput[] = [];
    for (const { state, tokens } of items) {
      for (const t of tokens) await this.feed(state as PairState, t);
      out.push({ logits: this.logits(state as PairState) });
    }
    return out;
  }
  async step(items: readonly { state: SequenceState; token: number }[]): Promise<ForwardOutput[]> {
    return this.prefill(items.map(({ state, token }) => ({ state, tokens: Int32Array.of(token) })));
  }
  verify(): Promise<VerifyOutput[]> {
    throw new Error('not used by TextBridgeDrafter');
  }
  commit(): Promise<void> {
    throw new Error('not used by TextBridgeDrafter');
  }
  async dispose(): Promise<void> {}
  private async feed(s: PairState, token: number): Promise<void> {
    s.position++;
    if (token < 8) {
      s.pending = token;
      return;
    }
    const [out] = await this.target.step([{ state: s.inner, token: s.pending * 8 + token - 8 }]);
    s.logits = out.logits;
    s.pending = -1;
  }
  /** Max-marginal over the high digit, or the conditional over the low digit. */
  private logits(s: PairState): Float32Array {
    const out = new Float32Array(this.vocabSize).fill(-1e9);
    for (let t = 0; t < vocabSize; t++) {
      if (s.pending < 0) out[t >> 3] = Math.max(out[t >> 3], s.logits[t]);
      else if (t >> 3 === s.pending) out[8 + (t & 7)] = s.logits[t];
    }
    return out;
  }
}

describe('TextBridgeDrafter (draft model with another tokenizer)', () => {
  it('drafts through text, keeps greedy output identical, and accepts the perfect cross-tokenizer draft', async () => {
    const target = toyTarget();
    const inputs = prompts(3);
    const plain = await collect(target, inputs, { maxTokens: 30 });
    const drafter = new TextBridgeDrafter({
      model: new PairTokenizedModel(toyTarget()),
      bridge,
      draftTokens: 12,
    });
    const spec = await collect(target, inputs, { maxTokens: 30, drafter, adaptive: false, maxDraftNodes: 8 });
    expect(spec.tokens).toEqual(plain.tokens);
    expect(meanAcceptedLength(spec.metrics)).toBeGreaterThan(4);
  });
});
