"""Self-tests: the training forms (parallel retention, chunked selective scan, tree masks) equal SPEC.md's
token-by-token recurrence in fp32. Runs in seconds on CPU (PyTorch 1.13+) or GPU; exits non-zero on failure.
    python3 -m densessm_train.selftest [--device cuda]
"""
import argparse
import math
import sys

import torch

from .models import LM, make_config
from .reference import recurrent_logits

TINY = {
    "dense_retnet_m2": dict(model_type="dense_retnet", hidden_size=64, query_key_dim=32, num_attention_heads=2,
                            v_factor=2, num_hidden_layers=3, vocab_size=256, dense_block_layers=2),
    "dense_retnet_m0": dict(model_type="dense_retnet", hidden_size=64, query_key_dim=32, num_attention_heads=2,
                            v_factor=1, num_hidden_layers=2, vocab_size=256, dense_block_layers=0),
    "mamba_lm_head": dict(model_type="mamba", hidden_size=64, intermediate_size=128, state_size=8, time_step_rank=4,
                          conv_kernel=4, num_hidden_layers=2, vocab_size=256, tie_word_embeddings=False),
    "mamba_tied": dict(model_type="mamba", hidden_size=64, intermediate_size=96, state_size=8, time_step_rank=4,
                       conv_kernel=4, num_hidden_layers=2, vocab_size=256, tie_word_embeddings=True),
    "dense_mamba_m2": dict(model_type="dense_mamba", hidden_size=64, intermediate_size=128, state_size=8,
                           time_step_rank=4, conv_kernel=4, num_hidden_layers=3, vocab_size=256,
                           dense_block_layers=2, tie_word_embeddings=True),
}


def randomize(model, seed):
    """Weights of O(1) effect everywhere (so fixtures exercise every tensor), deterministic in `seed`."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("A_log"):
                p.copy_(torch.log(torch.arange(1, p.shape[1] + 1).float()).repeat(p.shape[0], 1)
                        + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith(".D"):
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("dt_proj.bias"):
                dt = torch.exp(torch.rand(p.shape, generator=g) * (math.log(0.5) - math.log(0.01)) + math.log(0.01))
                p.copy_(dt + torch.log(-torch.expm1(-dt)))
            elif p.dim() == 1:  # norms, conv/other biases
                base = 0.0 if name.endswith("bias") else 1.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight") or name.endswith("embeddings.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[1] * (p.shape[2] if p.dim() == 3 else 1)
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / math.sqrt(fan_in)))
    return model


def tiny_models(device="cpu"):
    out = {}
    for i, (name, kw) in enumerate(TINY.items()):
        cfg = make_config(**kw)
        out[name] = randomize(LM(cfg), 1234 + i).to(device)
    return out


def check(name, a, b, tol, fails):
    err = (a - b).abs().max().item()
    ok = err <= tol
    print(f"  {'ok ' if ok else 'FAIL'} {name}: max abs err {err:.2e} (tol {tol:.0e})", flush=True)
    if not ok:
        fails.append(name)


def run(device="cpu"):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    fails = []
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, 256, (13,), generator=g)
    for name, model in tiny_models(device).items():
        model.eval()
        sd = {k: v.cpu() for k, v in model.state_dict().items()}
        with torch.no_grad():
            ref = recurrent_logits(model.cfg, sd, ids.tolist())
            # chunk smaller than T and not dividing it, to exercise the chunk carry and padding
            for mod in model.modules():
                if hasattr(mod, "scan_chunk"):
                    mod.scan_chunk = 4
            par = model(ids[None].to(device))[0].float().cpu()
        check(f"{name} parallel==recurrent (logit scale {ref.abs().max():.1f})", par, ref, 1e-4, fails)
        if model.is_retnet:
            # tree form: a branching token tree; each node must equal the recurrence over its ancestor path
            parents = [-1, 0, 1, 1, 2, 3, 0, 6]
            toks = torch.randint(0, 256, (len(parents),), generator=g)
            depth, anc = [], []
            for i, p in enumerate(parents):
                depth.append(0 if p < 0 else depth[p] + 1)
                anc.append(([i] + anc[p]) if p >= 0 else [i])
            M = torch.zeros(len(parents), len(parents), dtype=torch.bool)
            for i, a in enumerate(anc):
                M[i, a] = True
            with torch.no_grad():
                tl = model(toks[None].to(device), pos=torch.tensor(depth, device=device),
                           mask=M.to(device))[0].float().cpu()
                want = torch.stack([recurrent_logits(model.cfg, sd, toks[a[::-1]].tolist())[-1] for a in anc])
            check(f"{name} tree-mask == per-path recurrence", tl, want, 1e-4, fails)
    # selective scan: chunked == naive loop, with large dt (stability)
    torch.manual_seed(0)
    from .models import selective_scan
    B, T, E, N = 2, 70, 5, 3
    x, Bm, Cm = torch.randn(B, T, E), torch.randn(B, T, N), torch.randn(B, T, N)
    dt = torch.rand(B, T, E) * 5
    A = -torch.rand(E, N) * 20
    y = selective_scan(x.to(device), dt.to(device), A.to(device), Bm.to(device), Cm.to(device), 16).cpu()
    h = torch.zeros(B, E, N)
    ys = []
    for t in range(T):
        h = torch.exp(dt[:, t, :, None] * A) * h + (dt[:, t] * x[:, t])[:, :, None] * Bm[:, t, None, :]
        ys.append((h * Cm[:, t, None, :]).sum(-1))
    check("selective_scan chunked == loop (dt up to 5, |A| up to 20)", y, torch.stack(ys, 1), 1e-4, fails)
    return fails


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    print(f"self-test on {a.device}, torch {torch.__version__}", flush=True)
    f = run(a.device)
    if f:
        print("SELF-TEST FAILED:", f, flush=True)
        sys.exit(1)
    print("SELF-TEST PASSED", flush=True)
