"""Token-by-token recurrences of SPEC.md, written from the spec independently of models.py's parallel forms.
Used by the self-tests (parallel == recurrence) and as the definition of the model. fp32, batch of one sequence.
"""
import math

import torch
import torch.nn.functional as F


def rms(x, w, eps):
    return w * x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


def silu(x):
    return x * torch.sigmoid(x)


def lin(W, x, b=None):
    y = x @ W.t()
    return y if b is None else y + b


def _select(sd, p, u):
    return lin(sd[p + ".fc2.weight"], silu(lin(sd[p + ".fc1.weight"], u)))


def retnet_recurrent(cfg, sd, ids):
    """Logits [T,V] for token ids [T] by running SPEC.md's recurrence token by token."""
    sd = {k: v.detach().double().float() for k, v in sd.items()}
    d, Q, H = cfg["hidden_size"], cfg["query_key_dim"], cfg["num_attention_heads"]
    E = cfg["v_factor"] * d
    L, eps = cfg["num_hidden_layers"], cfg["rms_norm_eps"]
    m = int(cfg.get("dense_block_layers", 0) or 0)
    dk, dv = Q // H, E // H
    gam = [1 - 2.0 ** (-5 - h) for h in range(H)]
    nth = dk // 2
    thetas = [10000.0 ** (-(j / (nth - 1) if nth > 1 else 0.0)) for j in range(nth)]
    S = [[torch.zeros(dk, dv) for _ in range(H)] for _ in range(L)]
    cnt = [[0.0] * H for _ in range(L)]
    head = sd["lm_head.weight"] if "lm_head.weight" in sd else sd["model.embed_tokens.weight"]
    out = []
    for n, tok in enumerate(ids):
        h = sd["model.embed_tokens.weight"][int(tok)].clone()
        ks, vs = [], []
        for l in range(L):
            p = f"model.layers.{l}."
            u = rms(h, sd[p + "input_layernorm.weight"], eps)
            a = p + "self_attn."
            q = silu(lin(sd[a + "q_proj.weight"], u))
            k = silu(lin(sd[a + "k_proj.weight"], u)) / math.sqrt(dk)
            vg = silu(lin(sd[a + "to_hidden.0.weight"], u))
            v, g = vg[:E], vg[E:]
            k_cur, v_cur = k, v
            if l >= 1 and m > 0:
                pk = sum(ks[max(0, l - m):l])
                pv = sum(vs[max(0, l - m):l])
                k = rms(k + silu(_select(sd, a + "k_select", u)) * pk, sd[a + "k_norm.weight"], eps)
                v = rms(v + silu(_select(sd, a + "v_select", u)) * pv, sd[a + "v_norm.weight"], eps)
            ks.append(k_cur)
            vs.append(v_cur)
            os_ = []
            for hh in range(H):
                qh, kh, vh = q[hh * dk:(hh + 1) * dk].clone(), k[hh * dk:(hh + 1) * dk].clone(), v[hh * dv:(hh + 1) * dv]
                for x in (qh, kh):
                    for j in range(nth):
                        c, s_ = math.cos(n * thetas[j]), math.sin(n * thetas[j])
                        a0, a1 = float(x[2 * j]), float(x[2 * j + 1])
                        x[2 * j] = a0 * c - a1 * s_
                        x[2 * j + 1] = a1 * c + a0 * s_
                S[l][hh] = gam[hh] * S[l][hh] + torch.outer(kh, vh)
                cnt[l][hh] = gam[hh] * cnt[l][hh] + 1
                o = (qh @ S[l][hh]) / math.sqrt(cnt[l][hh])
                os_.append(rms(o, sd[a + "group_norm.weight"], eps))
            o = torch.cat(os_) * g
            h = h + lin(sd[a + "to_out.0.weight"], o)
        x = rms(h, sd["model.norm.weight"], eps)
        out.append(lin(head, x))
    return torch.stack(out)


def mamba_recurrent(cfg, sd, ids):
    sd = {k: v.detach().float() for k, v in sd.items()}
    d, E, N, R, K = (cfg["hidden_size"], cfg["intermediate_size"], cfg["state_size"], cfg["time_step_rank"],
                     cfg["conv_kernel"])
    L, eps = cfg["num_hidden_layers"], cfg["layer_norm_epsilon"]
    m = int(cfg.get("dense_block_layers", 0) or 0) if cfg["model_type"] == "dense_mamba" else 0
    conv = [torch.zeros(E, K - 1) for _ in range(L)]
    ssm = [torch.zeros(E, N) for _ in range(L)]
    emb = sd["backbone.embeddings.weight"]
    head = sd.get("lm_head.weight", emb)
    out = []
    for tok in ids:
        h = emb[int(tok)].clone()
        xs = []
        for l in range(L):
            p = f"backbone.layers.{l}."
            u = rms(h, sd[p + "norm.weight"], eps)
            mx = p + "mixer."
            xz = lin(sd[mx + "in_proj.weight"], u, sd.get(mx + "in_proj.bias"))
            x, z = xz[:E], xz[E:]
            x_cur = x
            if l >= 1 and m > 0:
                px = sum(xs[max(0, l - m):l])
                x = rms(x + silu(_select(sd, mx + "x_select", u)) * px, sd[mx + "x_norm.weight"], eps)
            xs.append(x_cur)
            w = sd[mx + "conv1d.weight"][:, 0, :]  # [E,K]
            window = torch.cat([conv[l], x[:, None]], dim=1)  # [E,K], oldest first
            xc = (w * window).sum(1)
            if mx + "conv1d.bias" in sd:
                xc = xc + sd[mx + "conv1d.bias"]
            conv[l] = window[:, 1:]
            xc = silu(xc)
            xdbl = lin(sd[mx + "x_proj.weight"], xc)
            dtr, Bv, Cv = xdbl[:R], xdbl[R:R + N], xdbl[R + N:]
            dt = F.softplus(lin(sd[mx + "dt_proj.weight"], dtr, sd[mx + "dt_proj.bias"]))
            A = -torch.exp(sd[mx + "A_log"])
            ssm[l] = torch.exp(dt[:, None] * A) * ssm[l] + dt[:, None] * Bv[None, :] * xc[:, None]
            y = ssm[l] @ Cv + sd[mx + "D"] * xc
            h = h + lin(sd[mx + "out_proj.weight"], y * silu(z), sd.get(mx + "out_proj.bias"))
        x = rms(h, sd["backbone.norm_f.weight"], eps)
        out.append(lin(head, x))
    return torch.stack(out)


def recurrent_logits(cfg, sd, ids):
    if cfg["model_type"] == "dense_retnet":
        return retnet_recurrent(cfg, sd, ids)
    return mamba_recurrent(cfg, sd, ids)
