/** Small fp32 vector helpers for the pure-TypeScript references (readability over speed). */

/** `W x` for an nn.Linear weight `W [out, in]` (row-major). */
export function matvec(w: Float32Array, x: Float32Array, out: number): Float32Array {
  const inDim = x.length;
  const y = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) s += w[row + i] * x[i];
    y[o] = s;
  }
  return y;
}

export function silu(x: Float32Array): Float32Array {
  return x.map((v) => v / (1 + Math.exp(-v)));
}

/** `w * x / sqrt(mean(x^2) + eps)` (SPEC.md RMSNorm). */
export function rmsNorm(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const inv = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => w[i] * v * inv);
}

export function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]);
}

export function mul(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v * b[i]);
}
