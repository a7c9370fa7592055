import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest, VerifyOutcome } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { topTokens } from './top-tokens.js';
import {
  buildTreeTemplate,
  defaultRankPriors,
  fillFromTemplate,
  type TreeTemplate,
} from './tree-template.js';

export interface TokenRecyclingOptions {
  vocabSize: number;
  /** Successors remembered per token: the adjacency matrix is `[vocabSize, successors]` int32 (default 8). */
  successors?: number;
  /** The static tree shape (default: 80 nodes, depth 6, as in the paper). */
  template?: TreeTemplate;
}

/**
 * Token Recycling (Luo et al. 2024, arXiv 2408.08696): an adjacency matrix holding, for every token, the top-k
 * tokens the target predicted after it the last time that token was a tree node. Every verify pass overwrites
 * the rows of every node it scored (section 3.1), so candidates the target rejected are "recycled" into
 * future drafts. Drafts fill a static breadth-first tree template from the matrix (section 3.2): the node of
 * rank r below a node with token t gets `M[t][r]`. The matrix is shared by every sequence and request and
 * never grows (`vocabSize * successors * 4` bytes).
 */
export class TokenRecyclingDrafter implements Drafter {
  readonly name = 'token-recycling';
  readonly successors: number;
  private readonly vocabSize: number;
  private readonly matrix: Int32Array;
  private readonly template: TreeTemplate;

  constructor(options: TokenRecyclingOptions) {
    this.vocabSize = options.vocabSize;
    this.successors = options.successors ?? 8;
    if (!(this.successors >= 1 && this.vocabSize >= 1)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        'TokenRecyclingDrafter needs vocabSize >= 1 and successors >= 1.',
      );
    }
    this.template =
      options.template ??
      buildTreeTemplate({ nodes: 80, maxDepth: 6, rankPriors: defaultRankPriors.slice(0, this.successors) });
    const widest = this.template.ranks.reduce((a, b) => Math.max(a, b), 0);
    if (widest >= this.successors) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        `The tree template uses rank ${widest} but only ${this.successors} successors are kept.`,
      );
    }
    this.matrix = new Int32Array(this.vocabSize * this.successors).fill(-1);
  }

  /** Bytes held by the adjacency matrix. */
  get byteSize(): number {
    return this.matrix.byteLength;
  }

  /** The remembered successors of `token`, best first (-1 where none is known yet). */
  successorsOf(token: number): Int32Array {
    return this.matrix.subarray(token * this.successors, (token + 1) * this.successors);
  }

  propose(requests: readonly DraftRequest[]): DraftTree[] {
    return requests.map(({ tokens, budget }) => {
      const tree = new DraftTree(tokens[tokens.length - 1]);
      const { ranks, scores } = this.template;
      fillFromTemplate(this.template, tree, budget, (t, parent) => {
        const token = this.matrix[tree.tokens[parent] * this.successors + ranks[t]];
        return token < 0 ? undefined : { token, score: scores[t] };
      });
      return tree;
    });
  }

  observe(outcomes: readonly VerifyOutcome[]): void {
    for (const { tree, logits, vocabSize } of outcomes) {
      for (let node = 0; node < tree.size; node++) {
        if (tree.lookahead[node] !== undefined) continue;
        const best = topTokens(logits, node * vocabSize, vocabSize, this.successors);
        this.matrix.set(best, tree.tokens[node] * this.successors);
      }
    }
  }
}
