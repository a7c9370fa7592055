import type { ReferenceModel, ReferenceState } from '../architecture.js';
import { add, matvec, mul, rmsNorm, silu } from '../reference-math.js';
import type { ModelWeights } from '../weights.js';
import { denseSources, type MambaConfig } from './config.js';
import { mambaNames } from './weights.js';

/**
 * The state of the reference, in the graph model's layout: per layer `conv [K-1, E]` (the last K-1 x fed to the
 * conv, oldest row first; SPEC.md's `conv [E, K-1]` transposed) and `ssm [N, E]` (SPEC.md's `[E, N]` transposed);
 * packed as `[L, ...]`.
 */
class MambaReferenceState implements ReferenceState {
  constructor(
    public position: number,
    readonly conv: Float32Array,
    readonly ssm: Float32Array,
  ) {}

  get tensors() {
    return { conv: this.conv, ssm: this.ssm };
  }

  clone(): MambaReferenceState {
    return new MambaReferenceState(this.position, this.conv.slice(), this.ssm.slice());
  }
}

const softplus = (v: number) => (v > 20 ? v : Math.log(1 + Math.exp(v)));

/** SPEC.md `mamba` / `dense_mamba`, token by token, as written there (fp32 storage, double arithmetic). */
export class MambaReference implements ReferenceModel {
  constructor(
    private readonly config: MambaConfig,
    private readonly weights: ModelWeights,
  ) {}

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get hiddenSize(): number {
    return this.config.hiddenSize;
  }

  private w(name: string): Float32Array {
    return this.weights.get(name).data;
  }

  private layerW(l: number, rest: string): Float32Array {
    return this.w(mambaNames.layer(l, rest));
  }

  /** `W x (+ bias)` for layer l's `rest` linear, with its bias when the checkpoint has one. */
  private linear(l: number, rest: string, x: Float32Array, out: number): Float32Array {
    const y = matvec(this.layerW(l, `${rest}.weight`), x, out);
    const bias = mambaNames.layer(l, `${rest}.bias`);
    return this.weights.has(bias) ? add(y, this.w(bias)) : y;
  }

  newState(): MambaReferenceState {
    const { numLayers: L, intermediateSize: E, convKernel: K, stateSize: N } = this.config;
    return new MambaReferenceState(0, new Float32Array(L * (K - 1) * E), new Float32Array(L * E * N));
  }

  feed(state: ReferenceState, token: number): { logits: Float32Array; hidden: Float32Array } {
    const s = state as MambaReferenceState;
    const c = this.config;
    const d = c.hiddenSize;
    const embed = this.w(mambaNames.embedding);
    let h: Float32Array = embed.slice(token * d, (token + 1) * d);
    const xCur: Float32Array[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const u = rmsNorm(h, this.layerW(l, 'norm.weight'), c.layerNormEpsilon);
      h = add(h, this.mixer(l, u, s, xCur));
    }
    s.position++;
    const hidden = rmsNorm(h, this.w(mambaNames.normF), c.layerNormEpsilon);
    const head = this.weights.has(mambaNames.lmHead) ? this.w(mambaNames.lmHead) : embed;
    return { logits: matvec(head, hidden, c.vocabSize), hidden };
  }

  /** The SPEC.md mixer of layer l on input u; pushes this layer's pre-fusion x onto `xCur`. */
  private mixer(l: number, u: Float32Array, s: MambaReferenceState, xCur: Float32Array[]): Float32Array {
    const {
      intermediateSize: E,
      stateSize: N,
      timeStepRank: R,
      convKernel: K,
      layerNormEpsilon: eps,
    } = this.config;
    const xz = this.linear(l, 'mixer.in_proj', u, 2 * E);
    let x: Float32Array = xz.slice(0, E);
    const z = xz.slice(E);
    xCur.push(x);

    // dense_mamba: x <- RMSNorm_{x_norm}(x + silu(select(u)) * sum of layers l-1..l-m's x_cur).
    const sources = denseSources(this.config, l);
    if (sources.length > 0) {
      const hidden = silu(matvec(this.layerW(l, 'mixer.x_select.fc1.weight'), u, this.config.selectWidth));
      const gate = silu(matvec(this.layerW(l, 'mixer.x_select.fc2.weight'), hidden, E));
      const past = sources.map((p) => xCur[p]).reduce(add);
      x = rmsNorm(add(x, mul(gate, past)), this.layerW(l, 'mixer.x_norm.weight'), eps);
    }

    // Causal conv over [the K-1 committed rows, x]; then the rows shift by one and x becomes the newest.
    const convW = this.layerW(l, 'mixer.conv1d.weight');
    const bias = mambaNames.layer(l, 'mixer.conv1d.bias');
    const rows = s.conv.subarray(l * (K - 1) * E, (l + 1) * (K - 1) * E);
    const pre = new Float32Array(E);
    for (let e = 0; e < E; e++) {
      let acc = this.weights.has(bias) ? this.w(bias)[e] : 0;
      for (let k = 0; k < K - 1; k++) acc += convW[e * K + k] * rows[k * E + e];
      pre[e] = acc + convW[e * K + K - 1] * x[e];
    }
    const xc = silu(pre);
    rows.copyWithin(0, E);
    rows.set(x, (K - 2) * E);

    const proj = matvec(this.layerW(l, 'mixer.x_proj.weight'), xc, R + 2 * N);
    const [dtr, B, C] = [proj.subarray(0, R), proj.subarray(R, R + N), proj.subarray(R + N)];
    const dt = this.linear(l, 'mixer.dt_proj', dtr, E).map(softplus);
    const aLog = this.layerW(l, 'mixer.A_log');
    const D = this.layerW(l, 'mixer.D');
    const ssm = s.ssm.subarray(l * E * N, (l + 1) * E * N);
    const y = new Float32Array(E);
    for (let e = 0; e < E; e++) {
      let ye = D[e] * xc[e];
      for (let n = 0; n < N; n++) {
        // h[e,n] <- exp(dt[e] A[e,n]) h[e,n] + dt[e] B[n] xc[e],  A = -exp(A_log)
        const hn = Math.exp(-dt[e] * Math.exp(aLog[e * N + n])) * ssm[n * E + e] + dt[e] * B[n] * xc[e];
        ssm[n * E + e] = hn;
        ye += C[n] * hn;
      }
      y[e] = ye;
    }
    return this.linear(l, 'mixer.out_proj', mul(y, silu(z)), this.config.hiddenSize);
  }
}
