/**
 * Rotary angles of SPEC.md (torchscale theta_shift without xPos): theta_j = 10000^(-j/(dk/2-1)),
 * j = 0..dk/2-1 (torch.linspace(0, 1, dk/2) exponents; dk/2 == 1 gives theta_0 = 1).
 */
export function rotaryThetas(dk: number): Float64Array {
  const half = dk / 2;
  const thetas = new Float64Array(half);
  for (let j = 0; j < half; j++) thetas[j] = half === 1 ? 1 : 10000 ** (-j / (half - 1));
  return thetas;
}

/**
 * cos and sin of n * theta for every lane of a head (pairs share an angle), written at `offset` of `cos`/`sin`;
 * with them `x' = x * cos + rotateEveryTwo(x) * sin` where rotateEveryTwo(x)[2j] = -x[2j+1], [2j+1] = x[2j].
 */
export function writeRotary(
  thetas: Float64Array,
  n: number,
  cos: Float32Array,
  sin: Float32Array,
  offset: number,
): void {
  for (let j = 0; j < thetas.length; j++) {
    const c = Math.cos(n * thetas[j]);
    const s = Math.sin(n * thetas[j]);
    cos[offset + 2 * j] = c;
    cos[offset + 2 * j + 1] = c;
    sin[offset + 2 * j] = s;
    sin[offset + 2 * j + 1] = s;
  }
}

/** Decay per head (SPEC.md): gamma_h = 1 - 2^(-5-h). */
export function headDecays(heads: number): Float64Array {
  return Float64Array.from({ length: heads }, (_, h) => 1 - 2 ** (-5 - h));
}

/** c(n) = sum_{j=0..n} gamma^j, the retention count after n+1 tokens (SPEC.md: c <- gamma c + 1). */
export function retentionCount(gamma: number, n: number): number {
  return (1 - gamma ** (n + 1)) / (1 - gamma);
}
