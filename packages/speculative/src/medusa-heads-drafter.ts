import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest } from './drafter.js';
import { SpeculativeError } from './errors.js';
import { samplingDistribution } from './sampling.js';
import { topTokens } from './top-tokens.js';
import {
  buildTreeTemplate,
  defaultRankPriors,
  fillFromTemplate,
  type TreeTemplate,
} from './tree-template.js';

/** One Medusa head: a residual SiLU block, `h' = h + silu(W h + b)` with `W [hidden, hidden]` row-major. */
export interface MedusaHead {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export interface MedusaHeadsOptions {
  /** Head k predicts the token k + 1 places after the root. */
  heads: readonly MedusaHead[];
  /** The target's LM head `[vocabSize, hiddenSize]`, row-major, shared by every head (Cai et al. 2024, eq. 1). */
  lmHead: Float32Array;
  vocabSize: number;
  hiddenSize: number;
  /** Tree shape; depth d takes head d - 1's candidate of the node's rank (default: 64 nodes, top-4 per head). */
  template?: TreeTemplate;
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/**
 * Medusa heads (Cai et al. 2024, arXiv 2401.10774): extra heads on the target's final hidden state h_t each
 * predict one further token, `p_k = softmax(lmHead (h + silu(W_k h + b_k)))` (section 2.1.1); their top
 * candidates fill a static tree, verified with the tree mask (section 2.1.2). The hidden state is the one
 * where the target chose the root, so head k drafts depth k + 1. Drafts are deterministic (top-k), so the
 * sampling verifier checks them by sample-and-compare.
 */
export class MedusaHeadsDrafter implements Drafter {
  readonly name = 'medusa-heads';
  readonly needsHidden = true;
  private readonly template: TreeTemplate;
  private readonly widest: number;

  constructor(private readonly options: MedusaHeadsOptions) {
    const { heads, lmHead, vocabSize, hiddenSize } = options;
    if (heads.length === 0)
      throw new SpeculativeError('INVALID_OPTION', 'MedusaHeadsDrafter needs at least one head.');
    if (lmHead.length !== vocabSize * hiddenSize) {
      throw new SpeculativeError(
        'MODEL_MISMATCH',
        `lmHead has ${lmHead.length} floats, expected vocabSize * hiddenSize = ${vocabSize * hiddenSize}.`,
      );
    }
    for (const head of heads) {
      if (head.weight.length !== hiddenSize * hiddenSize || head.bias.length !== hiddenSize) {
        throw new SpeculativeError(
          'MODEL_MISMATCH',
          `A Medusa head must hold a [${hiddenSize}, ${hiddenSize}] weight and a [${hiddenSize}] bias for this model.`,
        );
      }
    }
    this.template =
      options.template ??
      buildTreeTemplate({ nodes: 64, maxDepth: heads.length, rankPriors: defaultRankPriors.slice(0, 4) });
    this.widest = this.template.ranks.reduce((a, b) => Math.max(a, b), 0) + 1;
    if (this.template.depths.some((d) => d > heads.length)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        `The tree template is deeper than the ${heads.length} heads can draft.`,
      );
    }
  }

  propose(requests: readonly DraftRequest[]): DraftTree[] {
    return requests.map(({ tokens, budget, hidden }) => {
      const tree = new DraftTree(tokens[tokens.length - 1]);
      if (!hidden) return tree;
      // Heads are evaluated only for the depths the budget reaches (each is a full pass through the LM head).
      const perHead: ReturnType<MedusaHeadsDrafter['headCandidates']>[] = [];
      const candidatesAt = (depth: number) => {
        perHead[depth - 1] ??= this.headCandidates(this.options.heads[depth - 1], hidden);
        return perHead[depth - 1];
      };
      const { ranks, depths } = this.template;
      fillFromTemplate(this.template, tree, budget, (t, parent) => {
        const { tokens: candidates, probabilities } = candidatesAt(depths[t]);
        return { token: candidates[ranks[t]], score: tree.scores[parent] * probabilities[ranks[t]] };
      });
      return tree;
    });
  }

  private headCandidates(head: MedusaHead, h: Float32Array): { tokens: number[]; probabilities: number[] } {
    const { lmHead, vocabSize, hiddenSize: d } = this.options;
    const shifted = new Float32Array(d);
    for (let i = 0; i < d; i++) {
      let acc = head.bias[i];
      for (let j = 0; j < d; j++) acc += head.weight[i * d + j] * h[j];
      shifted[i] = h[i] + silu(acc);
    }
    const logits = new Float32Array(vocabSize);
    for (let v = 0; v < vocabSize; v++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += lmHead[v * d + j] * shifted[j];
      logits[v] = acc;
    }
    const p = samplingDistribution(logits, 0, vocabSize, { temperature: 1 });
    const tokens = topTokens(p, 0, vocabSize, this.widest);
    return { tokens, probabilities: tokens.map((t) => p[t]) };
  }
}
