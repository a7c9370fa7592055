"""Device run 2: the paper comparison (issue #4). dense_retnet(m=2) vs dense_retnet(m=0) and dense_mamba(m=2) vs
mamba, each pair trained side by side on the same batches (equal tokens, equal steps, same data order), all four
for the same number of steps. The step count is calibrated on the slower (Mamba) pair to fit --budget seconds.
    PYTHONUNBUFFERED=1 python3 training/run2_compare.py --corpus .device-carry/corpus --out $OUT | tee $OUT/log.txt
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from densessm_train import configs as C  # noqa: E402
from densessm_train import selftest  # noqa: E402
from densessm_train.data import load_tokenizer, token_streams  # noqa: E402
from densessm_train.models import LM, make_config  # noqa: E402
from densessm_train.train import make_opt, train_side_by_side  # noqa: E402

T0 = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def step_time(models, stream, batch, seq, n=4):
    """Seconds per side-by-side step (fresh throwaway optimizers; models are re-initialised afterwards)."""
    opts = {k: make_opt(m, 1e-4) for k, m in models.items()}
    x = stream[: batch * (seq + 1)].view(batch, seq + 1)
    ts = []
    for i in range(n + 2):
        torch.cuda.synchronize()
        t = time.time()
        for k, m in models.items():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                lg = m(x[:, :-1])
            loss = F.cross_entropy(lg.float().reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1).long())
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
        torch.cuda.synchronize()
        ts.append(time.time() - t)
    return sum(ts[2:]) / n


def fresh(names, seed):
    out = {}
    for k in names:
        torch.manual_seed(seed)
        out[k] = LM(make_config(**C.CMP[k])).cuda()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=".device-carry/corpus")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer"))
    ap.add_argument("--out", default=os.environ.get("OUT", "out"))
    ap.add_argument("--budget", type=float, default=260, help="seconds of training for the Mamba pair")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--steps", type=int, default=0, help="fixed step count (0 = calibrate)")
    ap.add_argument("--seed", type=int, default=0, help="init seed (both models of a pair get the same seed)")
    ap.add_argument("--data-seed", type=int, default=1234, help="seed of the batch order")
    ap.add_argument("--extra-retnet-steps", type=int, default=0,
                    help="afterwards, if time allows, the RetNet pair again for this many steps (longer horizon)")
    ap.add_argument("--extra-before", type=float, default=380, help="start the extra pair only before this second")
    a = ap.parse_args()
    log("torch", torch.__version__, torch.cuda.get_device_name(0))
    if selftest.run("cuda"):
        sys.exit("SELF-TEST FAILED")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    tok = load_tokenizer(a.tokenizer)
    streams = {k: torch.from_numpy(v).cuda() for k, v in token_streams(a.corpus, tok).items()}
    log("tokens", {k: len(v) for k, v in streams.items()})
    pairs = [("dense_mamba_m2", "mamba"), ("dense_retnet_m2", "retnet_m0")]
    steps = a.steps
    if not steps:
        st_m = step_time(fresh(pairs[0], 0), streams["train"], a.batch, a.seq)
        steps = int(a.budget / st_m)
        log(f"mamba pair: {st_m:.3f}s per side-by-side step -> {steps} steps "
            f"({steps * a.batch * a.seq / 1e6:.1f}M tokens per model)")
    results = {}
    plan = [(p, steps, "") for p in pairs]
    if a.extra_retnet_steps:
        plan.append((pairs[1], a.extra_retnet_steps, f"@{a.extra_retnet_steps}"))
    for pair, nsteps, tag in plan:
        if tag and time.time() - T0 > a.extra_before:
            log(f"skipping extra pair {pair}{tag}: out of time")
            continue
        models = fresh(pair, a.seed)
        for k, m in models.items():
            log(f"{k}: {m.num_params():,} params, config {json.dumps(m.cfg)}")
        t = time.time()
        r = train_side_by_side(models, streams, nsteps, a.batch, a.seq, {k: a.lr for k in pair},
                               warmup=max(20, nsteps // 20), log=log, seed=a.data_seed,
                               eval_every=max(50, nsteps // 6))
        r = {k + tag: v for k, v in r.items()}
        log(f"pair {pair} done in {time.time() - t:.1f}s")
        results.update(r)
        json.dump(results, open(os.path.join(a.out, "compare.json"), "w"), indent=1)
        del models
        torch.cuda.empty_cache()
    for pair, nsteps, tag in plan:
        x, y = pair[0] + tag, pair[1] + tag
        if x not in results:
            continue
        rx, ry = results[x], results[y]
        log(f"{x} vs {y}: params {rx['params']:,} vs {ry['params']:,} ({100 * (rx['params'] / ry['params'] - 1):+.2f}%), "
            f"val ppl {rx['validation_ppl']:.3f} vs {ry['validation_ppl']:.3f}, "
            f"test ppl {rx['test_ppl']:.3f} vs {ry['test_ppl']:.3f}")
    log("done")


if __name__ == "__main__":
    main()
