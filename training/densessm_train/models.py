"""PyTorch definitions of dense_retnet, mamba and dense_mamba, written to packages/models/SPEC.md.

Parameter names (state_dict keys) and config keys are exactly SPEC.md's. Training uses the parallel form for
retention (fully parallel over the sequence, normalised by sqrt(c_n), no row-sum clamp) and a chunked selective
scan for Mamba (sequential inside chunks of `scan_chunk` steps, vectorised over chunks, then a carry pass over
chunks: every exponent is <= 0, so it is stable for any dt). `reference.py` holds the token-by-token
recurrences that the self-tests compare against.
Works with PyTorch 1.13 (CPU self-tests on the Node machine) and 2.x (GPU).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------- configs

RETNET_DEFAULTS = dict(model_type="dense_retnet", hidden_size=512, query_key_dim=256, num_attention_heads=2,
                       v_factor=2, num_hidden_layers=8, vocab_size=8192, rms_norm_eps=1e-6, dense_block_layers=2,
                       tie_word_embeddings=False)
MAMBA_DEFAULTS = dict(model_type="mamba", hidden_size=256, intermediate_size=512, state_size=16, time_step_rank=16,
                      conv_kernel=4, num_hidden_layers=12, vocab_size=8192, layer_norm_epsilon=1e-5,
                      use_conv_bias=True, use_bias=False, tie_word_embeddings=True)


def make_config(**kw):
    mt = kw.get("model_type", "dense_retnet")
    base = dict(RETNET_DEFAULTS if mt == "dense_retnet" else MAMBA_DEFAULTS)
    base.update(kw)
    if mt == "dense_mamba":
        base.setdefault("dense_block_layers", 2)
    if mt == "mamba":
        base.pop("dense_block_layers", None)
    return base


def dense_m(cfg):
    return int(cfg.get("dense_block_layers", 0) or 0) if cfg["model_type"] != "mamba" else 0


# ----------------------------------------------------------------------------------------------- pieces

class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight.float() * y).to(x.dtype)


class Select(nn.Module):
    """select(u) = fc2(silu(fc1(u))), fc1: d -> floor(d/32), fc2: floor(d/32) -> width, no biases."""

    def __init__(self, d, width):
        super().__init__()
        self.fc1 = nn.Linear(d, d // 32, bias=False)
        self.fc2 = nn.Linear(d // 32, width, bias=False)

    def forward(self, u):
        return self.fc2(F.silu(self.fc1(u)))


def retnet_thetas(dk):
    # theta_j = 10000^(-linspace(0,1,dk/2)[j])
    return 1.0 / (10000.0 ** torch.linspace(0, 1, dk // 2, dtype=torch.float32))


def rotary(x, pos):
    """x [..., T, dk] (fp32), pos [T] (float/long absolute positions). Pairs (2j, 2j+1) share theta_j."""
    dk = x.shape[-1]
    th = retnet_thetas(dk).to(x.device)
    ang = pos.to(torch.float32)[:, None] * th[None, :]  # [T, dk/2]
    cos, sin = torch.cos(ang), torch.sin(ang)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0 = x0 * cos - x1 * sin
    y1 = x1 * cos + x0 * sin
    return torch.stack([y0, y1], dim=-1).flatten(-2)


def retnet_log_gammas(H):
    return torch.log(1 - 2.0 ** (-5.0 - torch.arange(H, dtype=torch.float64))).to(torch.float32)


# ----------------------------------------------------------------------------------------------- dense_retnet

class Retention(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        d, Q, H = cfg["hidden_size"], cfg["query_key_dim"], cfg["num_attention_heads"]
        E = cfg["v_factor"] * d
        self.d, self.Q, self.H, self.E = d, Q, H, E
        self.dk, self.dv = Q // H, E // H
        eps = cfg["rms_norm_eps"]
        self.q_proj = nn.Linear(d, Q, bias=False)
        self.k_proj = nn.Linear(d, Q, bias=False)
        self.to_hidden = nn.Sequential(nn.Linear(d, 2 * E, bias=False))
        self.to_out = nn.Sequential(nn.Linear(E, d, bias=False))
        self.group_norm = RMSNorm(self.dv, eps)
        self.dense = layer_idx >= 1 and dense_m(cfg) > 0
        if self.dense:
            self.k_select = Select(d, Q)
            self.v_select = Select(d, E)
            self.k_norm = RMSNorm(Q, eps)
            self.v_norm = RMSNorm(E, eps)

    def forward(self, u, past_k, past_v, pos, mask):
        """u [B,T,d]; past_k/past_v: lists of pre-fusion k/v of earlier layers (same tokens);
        pos [T] absolute positions; mask [T,T] bool (ancestor-or-self) or None for causal.
        Returns out [B,T,d], k_cur, v_cur (pre-fusion)."""
        B, T, _ = u.shape
        q = F.silu(self.q_proj(u))
        k = F.silu(self.k_proj(u)) / math.sqrt(self.dk)
        v, g = F.silu(self.to_hidden(u)).split(self.E, dim=-1)
        k_cur, v_cur = k, v
        if self.dense and past_k:
            k = self.k_norm(k + F.silu(self.k_select(u)) * sum(past_k))
            v = self.v_norm(v + F.silu(self.v_select(u)) * sum(past_v))
        H, dk, dv = self.H, self.dk, self.dv
        qf = rotary(q.float().view(B, T, H, dk).transpose(1, 2), pos)  # [B,H,T,dk] fp32
        kf = rotary(k.float().view(B, T, H, dk).transpose(1, 2), pos)
        vh = v.view(B, T, H, dv).transpose(1, 2)
        lg = retnet_log_gammas(H).to(u.device)  # [H]
        posf = pos.to(torch.float32)
        dist = posf[:, None] - posf[None, :]  # [T,T]
        if mask is None:
            mask = torch.ones(T, T, dtype=torch.bool, device=u.device).tril()
        D = torch.exp(lg[:, None, None] * dist.clamp(min=0)[None]) * mask[None].to(torch.float32)  # [H,T,T]
        # c_n = (1 - gamma^(n+1)) / (1 - gamma)
        c = (1 - torch.exp(lg[:, None] * (posf[None, :] + 1))) / (1 - torch.exp(lg))[:, None]  # [H,T]
        D = D / torch.sqrt(c)[:, :, None]
        # under bf16 autocast the two matmuls run in bf16; decay, normalisation and the scores' scaling in fp32
        s = torch.matmul(qf, kf.transpose(-1, -2)).float() * D
        o = torch.matmul(s, vh.float())
        o = self.group_norm(o)  # per head over dv
        o = o.transpose(1, 2).reshape(B, T, self.E)
        out = self.to_out(o.to(g.dtype) * g)
        return out, k_cur, v_cur


class RetNetLayer(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Retention(cfg, i)


# ----------------------------------------------------------------------------------------------- mamba

def selective_scan(x, dt, A, Bm, Cm, chunk=32):
    """h[e,n] <- exp(dt[e] A[e,n]) h[e,n] + dt[e] B[n] x[e];  y[e] = sum_n C[n] h[e,n]  (h starts at 0).
    x, dt [B,T,E]; A [E,N]; Bm, Cm [B,T,N]; all fp32. Returns y [B,T,E].
    Sequential inside chunks (vectorised over chunks), then a carry pass over chunks; exponents are <= 0."""
    Bsz, T, E = x.shape
    N = A.shape[1]
    L = min(chunk, T)
    pad = (-T) % L
    if pad:
        x, dt = F.pad(x, (0, 0, 0, pad)), F.pad(dt, (0, 0, 0, pad))
        Bm, Cm = F.pad(Bm, (0, 0, 0, pad)), F.pad(Cm, (0, 0, 0, pad))
    nC = (T + pad) // L
    dt = dt.view(Bsz, nC, L, E)
    dA = dt.unsqueeze(-1) * A  # [B,nC,L,E,N] (log decay, <= 0)
    decay = torch.exp(dA)
    u = (dt * x.view(Bsz, nC, L, E)).unsqueeze(-1) * Bm.view(Bsz, nC, L, 1, N)
    h = torch.zeros(Bsz, nC, E, N, device=x.device, dtype=x.dtype)
    hs = []
    # unbind once: indexing a slice per step would make autograd build a full-size zero gradient per step
    for dec_t, u_t in zip(decay.unbind(2), u.unbind(2)):
        h = dec_t * h + u_t
        hs.append(h)
    hloc = torch.stack(hs, dim=2)  # [B,nC,L,E,N] states from a zero start at each chunk
    Cv = Cm.view(Bsz, nC, L, 1, N)
    y = (hloc * Cv).sum(-1)  # [B,nC,L,E]
    if nC > 1:
        Acum = torch.cumsum(dA, dim=2)  # within-chunk cumulative log decay
        cdec = torch.exp(Acum[:, :, -1])  # [B,nC,E,N]
        carry = torch.zeros(Bsz, E, N, device=x.device, dtype=x.dtype)
        carries = []
        for cd_c, hl_c in zip(cdec.unbind(1), hloc[:, :, -1].unbind(1)):
            carries.append(carry)
            carry = cd_c * carry + hl_c
        Hin = torch.stack(carries, dim=1)  # state entering each chunk
        y = y + (torch.exp(Acum) * Hin.unsqueeze(2) * Cv).sum(-1)
    return y.reshape(Bsz, nC * L, E)[:, :T]


class MambaMixer(nn.Module):
    def __init__(self, cfg, layer_idx, scan_chunk=32):
        super().__init__()
        d, E, N, R, K = (cfg["hidden_size"], cfg["intermediate_size"], cfg["state_size"], cfg["time_step_rank"],
                         cfg["conv_kernel"])
        self.d, self.E, self.N, self.R, self.K = d, E, N, R, K
        self.scan_chunk = scan_chunk
        self.in_proj = nn.Linear(d, 2 * E, bias=cfg["use_bias"])
        self.conv1d = nn.Conv1d(E, E, K, groups=E, padding=K - 1, bias=cfg["use_conv_bias"])
        self.x_proj = nn.Linear(E, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, E, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(E, 1))
        self.D = nn.Parameter(torch.ones(E))
        self.out_proj = nn.Linear(E, d, bias=cfg["use_bias"])
        self.dense = layer_idx >= 1 and dense_m(cfg) > 0
        if self.dense:
            self.x_select = Select(d, E)
            self.x_norm = RMSNorm(E, cfg["layer_norm_epsilon"])

    def forward(self, u, past_x):
        B, T, _ = u.shape
        x, z = self.in_proj(u).split(self.E, dim=-1)
        x_cur = x
        if self.dense and past_x:
            x = self.x_norm(x + F.silu(self.x_select(u)) * sum(past_x))
        xc = self.conv1d(x.transpose(1, 2))[..., :T].transpose(1, 2)
        xc = F.silu(xc)
        dtr, Bm, Cm = self.x_proj(xc).split([self.R, self.N, self.N], dim=-1)
        dt = F.softplus(self.dt_proj(dtr).float())
        A = -torch.exp(self.A_log.float())
        y = selective_scan(xc.float(), dt, A, Bm.float(), Cm.float(), self.scan_chunk)
        y = y + self.D.float() * xc.float()
        out = self.out_proj((y * F.silu(z.float())).to(z.dtype))
        return out, x_cur


class MambaLayer(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        self.mixer = MambaMixer(cfg, i)


# ----------------------------------------------------------------------------------------------- LM

class LM(nn.Module):
    """One class for the three model types; state_dict keys follow SPEC.md."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        mt = cfg["model_type"]
        self.is_retnet = mt == "dense_retnet"
        d, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
        self.m = dense_m(cfg)
        trunk = nn.Module()
        if self.is_retnet:
            trunk.embed_tokens = nn.Embedding(V, d)
            trunk.layers = nn.ModuleList([RetNetLayer(cfg, i) for i in range(L)])
            trunk.norm = RMSNorm(d, cfg["rms_norm_eps"])
            self.model = trunk
        else:
            trunk.embeddings = nn.Embedding(V, d)
            trunk.layers = nn.ModuleList([MambaLayer(cfg, i) for i in range(L)])
            trunk.norm_f = RMSNorm(d, cfg["layer_norm_epsilon"])
            self.backbone = trunk
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        if not self.tied:
            self.lm_head = nn.Linear(d, V, bias=False)
        self.init_weights()

    # -- parts
    @property
    def trunk(self):
        return self.model if self.is_retnet else self.backbone

    @property
    def embed(self):
        return self.model.embed_tokens if self.is_retnet else self.backbone.embeddings

    @property
    def final_norm(self):
        return self.model.norm if self.is_retnet else self.backbone.norm_f

    def head_weight(self):
        return self.embed.weight if self.tied else self.lm_head.weight

    def logits_from_normed(self, x):
        return F.linear(x, self.head_weight())

    def init_weights(self, std=0.02):
        L = self.cfg["num_hidden_layers"]
        for name, mod in self.named_modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                if name.endswith("dt_proj"):
                    continue
                s = std / math.sqrt(2 * L) if name.endswith(("to_out.0", "out_proj")) else std
                nn.init.normal_(mod.weight, 0.0, s)
                if getattr(mod, "bias", None) is not None:
                    nn.init.zeros_(mod.bias)
        if not self.is_retnet:  # Mamba's dt initialisation (dt in [1e-3, 1e-1], log-uniform)
            for lyr in self.backbone.layers:
                mx = lyr.mixer
                nn.init.uniform_(mx.dt_proj.weight, -mx.R ** -0.5, mx.R ** -0.5)
                dt = torch.exp(torch.rand(mx.E) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
                with torch.no_grad():
                    mx.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    # -- forward
    def hidden(self, ids=None, embeds=None, pos=None, mask=None):
        """Final normed hidden states x = RMSNorm_f(h_L) [B,T,d]."""
        h = self.embed(ids) if embeds is None else embeds
        B, T, _ = h.shape
        if pos is None:
            pos = torch.arange(T, device=h.device)
        m = self.m
        hist_k, hist_v, hist_x = [], [], []
        for i, lyr in enumerate(self.trunk.layers):
            if self.is_retnet:
                u = lyr.input_layernorm(h)
                pk = hist_k[max(0, i - m):i] if m > 0 else []
                pv = hist_v[max(0, i - m):i] if m > 0 else []
                out, kc, vc = lyr.self_attn(u, pk[::-1], pv[::-1], pos, mask)
                if m > 0:
                    hist_k.append(kc)
                    hist_v.append(vc)
            else:
                assert mask is None, "tree masks are implemented for retention only"
                u = lyr.norm(h)
                px = hist_x[max(0, i - m):i] if m > 0 else []
                out, xc = lyr.mixer(u, px[::-1])
                if m > 0:
                    hist_x.append(xc)
            h = h + out
        return self.final_norm(h)

    def forward(self, ids=None, embeds=None, pos=None, mask=None):
        return self.logits_from_normed(self.hidden(ids, embeds, pos, mask))

    def num_params(self):
        return sum(p.numel() for p in self.parameters())
