import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest, VerifyOutcome } from './drafter.js';
import { SpeculativeError } from './errors.js';

/**
 * Several drafters, one tree: each proposes under the full budget, then the trees are merged best-first by
 * the drafters' node priorities until the budget is spent. Identical deterministic nodes under the same parent
 * are shared (their subtrees merge); sampled nodes are never merged, and a node joins only after its earlier
 * siblings from the same drafter, so a without-replacement group keeps its draw order (the recursive verifier
 * relies on it). Acceptance is attributed to every drafter that proposed an accepted node.
 */
export class CompositeDrafter implements Drafter {
  readonly name: string;
  readonly needsHidden: boolean;
  /** Accepted draft tokens credited to each drafter (a node proposed by several credits each). */
  readonly acceptedBySource: number[];

  constructor(private readonly drafters: readonly Drafter[]) {
    if (drafters.length === 0 || drafters.length > 30) {
      throw new SpeculativeError('INVALID_OPTION', 'CompositeDrafter needs between 1 and 30 drafters.');
    }
    this.name = `composite(${drafters.map((d) => d.name).join('+')})`;
    this.needsHidden = drafters.some((d) => d.needsHidden);
    this.acceptedBySource = drafters.map(() => 0);
  }

  async addSequences(sequences: readonly { sequenceId: number; prompt: Int32Array }[]): Promise<void> {
    for (const d of this.drafters) await d.addSequences?.(sequences);
  }

  async propose(requests: readonly DraftRequest[]): Promise<DraftTree[]> {
    const proposals: DraftTree[][] = [];
    for (const d of this.drafters) proposals.push(await d.propose(requests));
    return requests.map((request, r) =>
      mergeTrees(
        proposals.map((p) => p[r]),
        request.budget,
      ),
    );
  }

  async observe(outcomes: readonly VerifyOutcome[]): Promise<void> {
    for (const { tree, path } of outcomes) {
      for (const node of path.slice(1)) {
        this.drafters.forEach((_, s) => {
          if (tree.sources[node] & (1 << s)) this.acceptedBySource[s]++;
        });
      }
    }
    for (const d of this.drafters) await d.observe?.(outcomes);
  }

  removeSequence(sequenceId: number): void {
    for (const d of this.drafters) d.removeSequence?.(sequenceId);
  }
}

/** Best-first union of trees with the same root, at most `budget` nodes below it. */
export function mergeTrees(trees: readonly DraftTree[], budget: number): DraftTree {
  const merged = new DraftTree(trees[0].root);
  merged.sources[0] = (1 << trees.length) - 1;
  // mapped[s][n]: node of `merged` holding node n of tree s (-1: not yet placed).
  const mapped = trees.map((t) => new Int32Array(t.size).fill(-1));
  const placedChildren = trees.map((t) => new Int32Array(t.size));
  trees.forEach((_, s) => {
    mapped[s][0] = 0;
  });
  for (;;) {
    let bestSource = -1;
    let bestNode = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    trees.forEach((tree, s) => {
      for (let n = 0; n < tree.size; n++) {
        if (mapped[s][n] < 0) continue;
        const next = tree.children(n)[placedChildren[s][n]];
        if (next !== undefined && tree.priorities[next] > bestScore) {
          bestScore = tree.priorities[next];
          bestSource = s;
          bestNode = next;
        }
      }
    });
    if (bestSource < 0) break;
    const tree = trees[bestSource];
    const parent = tree.parents[bestNode];
    const into = mapped[bestSource][parent];
    placedChildren[bestSource][parent]++;
    const bit = 1 << bestSource;
    const embedding = tree.lookahead[bestNode];
    const proposal = tree.proposals[bestNode];
    const shared =
      embedding === undefined && proposal === undefined ? merged.findChild(into, tree.tokens[bestNode]) : -1;
    if (shared >= 0) {
      merged.sources[shared] |= bit;
      mapped[bestSource][bestNode] = shared;
      continue;
    }
    if (merged.size - 1 >= budget) {
      // Budget spent: this node (and so its subtree) is dropped; shared nodes above may still be found.
      mapped[bestSource][bestNode] = -2;
      continue;
    }
    mapped[bestSource][bestNode] = embedding
      ? merged.addLookahead(into, embedding, bit)
      : merged.addChild(into, tree.tokens[bestNode], {
          score: tree.scores[bestNode],
          priority: tree.priorities[bestNode],
          proposal,
          sources: bit,
        });
  }
  return merged;
}
