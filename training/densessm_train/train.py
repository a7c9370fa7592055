"""Training loop: several models trained side by side on the SAME batches (equal tokens, equal steps, equal data
order), bf16 autocast, AdamW (fused where available), linear warmup + cosine decay to 10%, grad clip 1.0.
Validation loss every `eval_every` steps on a fixed slice of the validation split; full validation and test
perplexity at the end (non-overlapping windows of `seq` tokens, each window starting from an empty state)."""
import contextlib
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F


def amp(t, enabled=True):
    """bf16 autocast on CUDA; nothing on CPU (the CPU smoke tests)."""
    if enabled and t.is_cuda:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def lr_at(step, steps, warmup, peak, floor=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def make_opt(model, lr, wd=0.1):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
    kw = dict(lr=lr, betas=(0.9, 0.95), eps=1e-8)
    try:
        return torch.optim.AdamW(groups, fused=True, **kw)
    except (TypeError, RuntimeError):
        return torch.optim.AdamW(groups, **kw)


def batch_from(stream_t, starts, seq):
    idx = starts[:, None] + torch.arange(seq + 1, device=stream_t.device)[None]
    w = stream_t[idx]
    return w[:, :-1], w[:, 1:]


@torch.no_grad()
def evaluate(model, stream_t, seq, bs=64, max_windows=None, amp_on=True):
    """Mean next-token loss over non-overlapping windows [i*seq, (i+1)*seq] (targets shifted by one)."""
    model.eval()
    n = (len(stream_t) - 1) // seq
    if max_windows:
        n = min(n, max_windows)
    tot, cnt = 0.0, 0
    for b0 in range(0, n, bs):
        starts = torch.arange(b0, min(n, b0 + bs), device=stream_t.device) * seq
        x, y = batch_from(stream_t, starts, seq)
        with amp(x, amp_on):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1).long(), reduction="sum")
        tot += loss.item()
        cnt += y.numel()
    model.train()
    return tot / max(1, cnt), cnt


def train_side_by_side(models, streams, steps, batch, seq, lrs, warmup, log, seed=0, eval_every=200,
                       eval_windows=64, time_limit=None, wd=0.1, train_fwd=None, full_eval_every=0):
    """models: {name: LM}; lrs: {name: peak lr}; streams: {split: torch int tensor on device}.
    train_fwd: optional {name: callable} used for the training forward (e.g. torch.compile'd), evaluation uses
    the plain modules. Returns {name: summary dict}. Writes progress lines through `log`."""
    fwd = train_fwd or models
    dev = streams["train"].device
    opts = {k: make_opt(m, lrs[k], wd) for k, m in models.items()}
    g = torch.Generator(device="cpu").manual_seed(seed)
    tr = streams["train"]
    hist = {k: [] for k in models}
    models = dict(models)
    t0 = time.time()
    tok_per_step = batch * seq
    done = 0
    for step in range(steps):
        starts = torch.randint(0, len(tr) - seq - 1, (batch,), generator=g).to(dev)
        x, y = batch_from(tr, starts, seq)
        for k, m in models.items():
            lr = lr_at(step, steps, warmup, lrs[k])
            for gr in opts[k].param_groups:
                gr["lr"] = lr
            with amp(x):
                logits = fwd[k](x)
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1).long())
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opts[k].step()
            if step % 25 == 0 or step == steps - 1:
                hist[k].append((step, loss.item()))
            if step % 100 == 0 or step == steps - 1:
                el = time.time() - t0
                log(f"step {step:5d}/{steps} {k:>22s} loss {loss.item():.4f} gnorm {gn.item():.2f} lr {lr:.2e} "
                    f"elapsed {el:6.1f}s tok/s(all models) {tok_per_step * (step + 1) / max(el, 1e-9):,.0f}")
        done = step + 1
        if eval_every and (step + 1) % eval_every == 0 and step + 1 < steps:
            for k, m in models.items():
                vl, _ = evaluate(m, streams["validation"], seq, max_windows=eval_windows)
                log(f"eval step {step + 1:5d} {k:>22s} val_loss(first {eval_windows} windows) {vl:.4f}")
        if full_eval_every and (step + 1) % full_eval_every == 0 and step + 1 < steps:
            for k, m in models.items():
                vl, _ = evaluate(m, streams["validation"], seq)
                hist.setdefault(k + ":val", []).append((step + 1, vl))
                log(f"full-val step {step + 1:5d} {k:>22s} val_loss {vl:.4f} ppl {math.exp(vl):.2f}")
        if time_limit and time.time() - t0 > time_limit:
            log(f"time limit {time_limit}s reached at step {step + 1}/{steps}: stopping early")
            break
    if dev.type == "cuda":
        torch.cuda.synchronize()
    train_time = time.time() - t0
    out = {}
    for k, m in models.items():
        last = [l for s, l in hist[k] if s >= done - max(1, done // 10)]
        res = {"params": m.num_params(), "steps": done, "tokens_seen": done * tok_per_step, "batch": batch,
               "seq": seq, "peak_lr": lrs[k], "train_loss_last10pct": float(np.mean(last)) if last else None,
               "train_time_s_all_models": train_time,
               "tokens_per_s_all_models": done * tok_per_step * len(models) / train_time}
        for sp in ("validation", "test"):
            if sp in streams:
                l, n = evaluate(m, streams[sp], seq)
                res[f"{sp}_loss"], res[f"{sp}_ppl"], res[f"{sp}_tokens"] = l, math.exp(l), n
        res["loss_curve"] = hist[k]
        if k + ":val" in hist:
            res["val_curve"] = hist[k + ":val"]
        out[k] = res
        log(f"final {k}: " + json.dumps({a: b for a, b in res.items() if a != "loss_curve"}))
    return out
