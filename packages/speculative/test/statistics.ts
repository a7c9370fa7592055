/** Pearson's chi-square statistic of observed counts against expected probabilities, merging bins expected < 5. */
export function chiSquare(
  counts: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  total: number,
): { statistic: number; df: number } {
  let statistic = 0;
  let bins = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const expected = probabilities[i] * total;
    if (expected < 5) {
      pooledObserved += counts[i];
      pooledExpected += expected;
      continue;
    }
    statistic += (counts[i] - expected) ** 2 / expected;
    bins++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / Math.max(pooledExpected, 1e-9);
    bins++;
  }
  return { statistic, df: bins - 1 };
}

/** Upper 0.999 quantile of chi-square with `df` degrees of freedom (Wilson-Hilferty approximation, z = 3.09). */
export function chiSquareCritical999(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

export function totalVariation(
  counts: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  total: number,
): number {
  let tv = 0;
  for (let i = 0; i < probabilities.length; i++) tv += Math.abs(counts[i] / total - probabilities[i]);
  return tv / 2;
}
