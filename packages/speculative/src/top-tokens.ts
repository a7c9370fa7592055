/**
 * Indices of the `k` largest values of `values[offset .. offset + length)`, largest first (lowest index first
 * on ties). A bounded insertion list: O(length * k), which beats sorting for the small k drafters use.
 */
export function topTokens(values: ArrayLike<number>, offset: number, length: number, k: number): number[] {
  const best: number[] = [];
  const bestValues: number[] = [];
  for (let v = 0; v < length; v++) {
    const value = values[offset + v];
    if (best.length === k && value <= bestValues[k - 1]) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && bestValues[at - 1] < value) {
      if (at < k) {
        best[at] = best[at - 1];
        bestValues[at] = bestValues[at - 1];
      }
      at--;
    }
    best[at] = v;
    bestValues[at] = value;
  }
  return best.slice(0, Math.min(k, length));
}
