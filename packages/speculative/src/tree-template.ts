import type { DraftTree } from './draft-tree.js';
import { SpeculativeError } from './errors.js';

/**
 * A static token-tree shape: node i (i >= 1) is the `ranks[i]`-th candidate below node `parents[i]`; node 0 is
 * the root. Token Recycling fills it from its adjacency matrix (Luo et al. 2024, section 3.2: a static BFS
 * tree), Medusa from each head's top-k (Cai et al. 2024, section 2.1.2). Nodes are in breadth-first order.
 */
export interface TreeTemplate {
  readonly parents: Int32Array;
  readonly ranks: Int32Array;
  readonly depths: Int32Array;
  /** Product of the rank priors along the path: the template's own estimate that a node is accepted. */
  readonly scores: Float64Array;
  /**
   * Node indices (root first) by decreasing score, ties by index. Every prefix is a subtree (a child never
   * outscores its parent), and the best one for its size: drafters cut the template to a budget with it.
   */
  readonly byScore: Int32Array;
}

export interface TreeTemplateOptions {
  /** Nodes below the root. */
  nodes: number;
  maxDepth: number;
  /**
   * Prior probability that the candidate of each rank is the accepted one (rank 0 first); its length is the
   * branching limit. The template keeps the `nodes` paths with the largest product of priors, the
   * tree-shape optimisation of Medusa's and Sequoia's static trees, with priors in place of measured rates.
   */
  rankPriors: readonly number[];
}

export const defaultRankPriors: readonly number[] = [0.55, 0.16, 0.08, 0.05, 0.035, 0.025, 0.02, 0.015];

/** Best-first growth by path prior; ties broken by depth then rank, so the template is deterministic. */
export function buildTreeTemplate(options: TreeTemplateOptions): TreeTemplate {
  const { nodes, maxDepth, rankPriors } = options;
  if (!(nodes >= 0 && maxDepth >= 1 && rankPriors.length >= 1)) {
    throw new SpeculativeError(
      'INVALID_OPTION',
      'A tree template needs nodes >= 0, maxDepth >= 1 and at least one rank prior.',
    );
  }
  const parents = [-1];
  const ranks = [0];
  const depths = [0];
  const scores = [1];
  // Frontier: for every node, its next unused rank is a candidate child.
  const nextRank = [0];
  while (parents.length - 1 < nodes) {
    let bestParent = -1;
    let bestScore = 0;
    for (let p = 0; p < parents.length; p++) {
      if (depths[p] >= maxDepth || nextRank[p] >= rankPriors.length) continue;
      const score = scores[p] * rankPriors[nextRank[p]];
      if (score > bestScore) {
        bestScore = score;
        bestParent = p;
      }
    }
    if (bestParent < 0) break;
    parents.push(bestParent);
    ranks.push(nextRank[bestParent]);
    depths.push(depths[bestParent] + 1);
    scores.push(bestScore);
    nextRank.push(0);
    nextRank[bestParent]++;
  }
  // Re-order breadth first (by depth, then parent order, then rank) so parents precede children.
  const order = parents.map((_, i) => i).sort((a, b) => depths[a] - depths[b] || a - b);
  const position = new Int32Array(order.length);
  order.forEach((node, at) => {
    position[node] = at;
  });
  const sortedScores = Float64Array.from(order, (node) => scores[node]);
  const byScore = Int32Array.from(order.keys()).sort((a, b) => sortedScores[b] - sortedScores[a] || a - b);
  return {
    byScore,
    parents: Int32Array.from(order, (node) => (parents[node] < 0 ? -1 : position[parents[node]])),
    ranks: Int32Array.from(order, (node) => ranks[node]),
    depths: Int32Array.from(order, (node) => depths[node]),
    scores: Float64Array.from(order, (node) => scores[node]),
  };
}

/**
 * Grows `tree` (whose root stands for template node 0) along `template.byScore` until it holds `budget` draft
 * nodes. `pick(t, parent)` names template node t's token and score below `parent`, the tree node t's template
 * parent became; undefined leaves t, and with it t's subtree, out.
 */
export function fillFromTemplate(
  template: TreeTemplate,
  tree: DraftTree,
  budget: number,
  pick: (t: number, parent: number) => { token: number; score: number } | undefined,
): void {
  const { parents, byScore } = template;
  const placed = new Int32Array(parents.length).fill(-1);
  placed[0] = 0;
  for (let k = 1; k < byScore.length && tree.size - 1 < budget; k++) {
    const t = byScore[k];
    const parent = placed[parents[t]];
    if (parent < 0) continue;
    const node = pick(t, parent);
    if (node) placed[t] = tree.addChild(parent, node.token, { score: node.score });
  }
}
