import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest, VerifyOutcome } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { greedyToken } from './sampling.js';

export interface PassLookaheadOptions {
  /** The learned lookahead input embeddings, `hiddenSize` floats each, in order. */
  embeddings: readonly Float32Array[];
}

/**
 * PaSS (Monea et al. 2023, arXiv 2311.13581): k learned "lookahead" input embeddings appended after the
 * context make one target pass also predict the tokens 2..k+1 places ahead (section 3). Here the lookahead
 * chain hangs below the deepest node of the drafts this drafter proposed last time; when verification
 * accepts the whole chain, the bonus token is the lookahead's first target and the lookahead outputs become
 * the next round's draft chain. Lookahead nodes are never committed (the verifier never accepts them).
 */
export class PassLookaheadDrafter implements Drafter {
  readonly name = 'pass-lookahead';
  private readonly pending = new Map<number, number[]>();

  constructor(private readonly options: PassLookaheadOptions) {
    if (options.embeddings.length === 0)
      throw new SpeculativeError(
        'INVALID_OPTION',
        'PassLookaheadDrafter needs at least one lookahead embedding.',
      );
  }

  propose(requests: readonly DraftRequest[]): DraftTree[] {
    return requests.map(({ sequenceId, tokens, budget }) => {
      const tree = new DraftTree(tokens[tokens.length - 1]);
      const drafts = this.pending.get(sequenceId) ?? [];
      const lookahead = Math.min(this.options.embeddings.length, budget);
      let node = 0;
      for (const token of drafts.slice(0, budget - lookahead))
        node = tree.addChild(node, token, { score: tree.scores[node] * 0.5 });
      for (const embedding of this.options.embeddings.slice(0, lookahead))
        node = tree.addLookahead(node, embedding);
      return tree;
    });
  }

  observe(outcomes: readonly VerifyOutcome[]): void {
    for (const { sequenceId, tree, path, logits, vocabSize } of outcomes) {
      const chain = this.lookaheadChain(tree);
      const attachedAt = chain.length > 0 ? tree.parents[chain[0]] : -1;
      this.pending.set(
        sequenceId,
        attachedAt === path[path.length - 1]
          ? chain.map((node) => greedyToken(logits, node * vocabSize, vocabSize))
          : [],
      );
    }
  }

  removeSequence(sequenceId: number): void {
    this.pending.delete(sequenceId);
  }

  /** This drafter's lookahead nodes in `tree` (possibly merged with other drafters' nodes), in chain order. */
  private lookaheadChain(tree: DraftTree): number[] {
    const mine = new Set(this.options.embeddings);
    const chain: number[] = [];
    for (let node = 0; node < tree.size; node++) {
      const embedding = tree.lookahead[node];
      if (embedding && mine.has(embedding)) chain.push(node);
    }
    return chain;
  }
}
