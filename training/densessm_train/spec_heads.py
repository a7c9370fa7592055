"""Speculative companions trained on a FROZEN target (formats in models/README.md).

Medusa-style heads: x = RMSNorm_norm(h_L) (the target's final normed hidden state, the lm_head input) at the
last position t; head i (0-based) computes logits_i = lm_head(x + silu(W_i x + b_i)) and predicts token t+2+i
(the target's own lm_head predicts t+1). Tensors medusa_heads.{i}.weight [d,d], medusa_heads.{i}.bias [d].

PaSS lookahead embeddings: k learned vectors lookahead.embeddings [k,d]. After context t_0..t_p, the engine
appends k nodes whose layer-0 input h_0 is embeddings[j-1] (j = 1..k) instead of embed[token], forming a chain at
absolute positions p+1..p+k (each sees the context and the earlier lookahead nodes, never committed). The logits
at slot j predict token t_{p+1+j}; the context's own logits at p predict t_{p+1} as usual.
"""
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .train import amp, batch_from, lr_at, make_opt


class MedusaHeads(nn.Module):
    def __init__(self, d, n=4):
        super().__init__()
        self.medusa_heads = nn.ModuleList([nn.Linear(d, d, bias=True) for _ in range(n)])
        for h in self.medusa_heads:
            nn.init.zeros_(h.weight)
            nn.init.zeros_(h.bias)

    def head_logits(self, target, x):
        """x: normed hidden [..., d] -> [n, ..., V]"""
        return torch.stack([target.logits_from_normed(x + F.silu(h(x))) for h in self.medusa_heads])


class Lookahead(nn.Module):
    def __init__(self, target, k=4):
        super().__init__()
        w = target.embed.weight.detach().float()
        init = w.mean(0, keepdim=True) + 0.02 * torch.randn(k, w.shape[1], device=w.device)
        self.embeddings = nn.Parameter(init)
        self.k = k

    def lookahead_logits(self, target, ids):
        """ids [B,n] -> logits [B,k,V] at the k lookahead slots appended after the whole prompt."""
        B, n = ids.shape
        emb = target.embed(ids)
        full = torch.cat([emb, self.embeddings.to(emb.dtype)[None].expand(B, self.k, -1)], dim=1)
        return target(embeds=full)[:, n:]


def lookahead_tree(Tc, k, device):
    """Context chain of Tc tokens plus, for every context position p, a chain of k lookahead nodes.
    Returns pos [N], mask [N,N] bool (ancestor-or-self), slot_p [Tc*k], slot_j [Tc*k] (1-based)."""
    N = Tc * (1 + k)
    p = torch.arange(Tc, device=device).repeat_interleave(k)
    j = torch.arange(1, k + 1, device=device).repeat(Tc)
    pos = torch.cat([torch.arange(Tc, device=device), p + j])
    mask = torch.zeros(N, N, dtype=torch.bool, device=device)
    mask[:Tc, :Tc] = torch.ones(Tc, Tc, dtype=torch.bool, device=device).tril()
    la = torch.arange(Tc * k, device=device) + Tc
    # lookahead node (p, j) sees context 0..p
    mask[la] = torch.cat([torch.arange(Tc, device=device)[None] <= p[:, None],
                          torch.zeros(Tc * k, Tc * k, dtype=torch.bool, device=device)], dim=1)
    # ... and lookahead nodes (p, j') with j' <= j
    same = (p[:, None] == p[None, :]) & (j[None, :] <= j[:, None])
    mask[Tc:, Tc:] = same
    return pos, mask, p, j


def _freeze(target):
    target.eval()
    for q in target.parameters():
        q.requires_grad_(False)


def train_medusa(target, heads, streams, steps, batch, seq, lr, log, seed=1, warmup=50):
    _freeze(target)
    n = len(heads.medusa_heads)
    opt = make_opt(heads, lr, wd=0.0)
    g = torch.Generator().manual_seed(seed)
    tr = streams["train"]
    t0 = time.time()
    for step in range(steps):
        starts = torch.randint(0, len(tr) - seq - n - 2, (batch,), generator=g).to(tr.device)
        w, _ = batch_from(tr, starts, seq + n + 1)  # [B, seq+n+1]
        with torch.no_grad(), amp(w):
            x = target.hidden(w[:, :seq]).float()
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step, steps, warmup, lr)
        with amp(w):
            hl = heads.head_logits(target, x)  # [n,B,seq,V]
        loss = sum(F.cross_entropy(hl[i].float().reshape(-1, hl.shape[-1]), w[:, 2 + i:2 + i + seq].reshape(-1).long())
                   for i in range(n)) / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"medusa step {step}/{steps} loss {loss.item():.4f} elapsed {time.time() - t0:.1f}s")
    return medusa_eval(target, heads, streams["validation"], seq)


@torch.no_grad()
def medusa_eval(target, heads, stream, seq, windows=64):
    n = len(heads.medusa_heads)
    nw = min(windows, (len(stream) - n - 2) // seq - 1)
    starts = torch.arange(nw, device=stream.device) * seq
    w, _ = batch_from(stream, starts, seq + n + 1)
    acc, loss = [], []
    for b in range(0, nw, 16):
        ww = w[b:b + 16]
        with amp(ww):
            x = target.hidden(ww[:, :seq])
            hl = heads.head_logits(target, x).float()
            base = target.logits_from_normed(x).float()
        a = [(base.argmax(-1) == ww[:, 1:1 + seq]).float().mean().item()]
        for i in range(n):
            a.append((hl[i].argmax(-1) == ww[:, 2 + i:2 + i + seq]).float().mean().item())
        acc.append(a)
    accm = [sum(x[i] for x in acc) / len(acc) for i in range(n + 1)]
    return {"val_top1_acc_target_next": accm[0], "val_top1_acc_heads": accm[1:]}


def train_lookahead(target, la, streams, steps, batch, ctx, lr, log, seed=2, warmup=50):
    _freeze(target)
    k = la.k
    opt = torch.optim.AdamW([la.embeddings], lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    pos, mask, p, j = lookahead_tree(ctx, k, streams["train"].device)
    g = torch.Generator().manual_seed(seed)
    tr = streams["train"]
    t0 = time.time()
    for step in range(steps):
        starts = torch.randint(0, len(tr) - ctx - k - 2, (batch,), generator=g).to(tr.device)
        w, _ = batch_from(tr, starts, ctx + k + 1)
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step, steps, warmup, lr)
        loss = _la_loss(target, la, w, ctx, pos, mask, p, j)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"lookahead step {step}/{steps} loss {loss.item():.4f} elapsed {time.time() - t0:.1f}s")
    return lookahead_eval(target, la, streams["validation"], ctx)


def _la_loss(target, la, w, ctx, pos, mask, p, j):
    B = w.shape[0]
    k = la.k
    with amp(w):
        emb = target.embed(w[:, :ctx])
        lae = la.embeddings.to(emb.dtype)[j - 1][None].expand(B, -1, -1)
        x = target.hidden(embeds=torch.cat([emb, lae], 1), pos=pos, mask=mask)[:, ctx:]
        logits = target.logits_from_normed(x).float()  # [B, ctx*k, V]
    tgt = w[:, (p + 1 + j)]  # [B, ctx*k]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1).long())
    return loss, logits, tgt


@torch.no_grad()
def lookahead_eval(target, la, stream, ctx, windows=32):
    k = la.k
    pos, mask, p, j = lookahead_tree(ctx, k, stream.device)
    nw = min(windows, (len(stream) - ctx - k - 2) // ctx)
    starts = torch.arange(nw, device=stream.device) * ctx
    w, _ = batch_from(stream, starts, ctx + k + 1)
    accs = torch.zeros(k)
    tot = 0.0
    for b in range(0, nw, 8):
        ww = w[b:b + 8]
        loss, logits, tgt = _la_loss(target, la, ww, ctx, pos, mask, p, j)
        hit = (logits.argmax(-1) == tgt).float()  # [B, ctx*k]
        for jj in range(1, k + 1):
            accs[jj - 1] += hit[:, j == jj].mean().item() * ww.shape[0]
        tot += loss.item() * ww.shape[0]
    return {"val_loss": tot / nw, "val_ppl": math.exp(tot / nw), "val_top1_acc_slots": (accs / nw).tolist()}
