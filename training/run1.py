"""Device run 1 (~5 min): self-tests on the GPU, fixture check on the GPU, tokenizer training on the train split,
token counts, and a training-throughput benchmark (eager; torch.compile tried last).
    PYTHONUNBUFFERED=1 python3 training/run1.py --corpus .device-carry/corpus --out $OUT | tee $OUT/log.txt
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from densessm_train import configs as C  # noqa: E402
from densessm_train import selftest, st  # noqa: E402
from densessm_train.data import read_split, save_tokenizer, train_tokenizer, encode_docs  # noqa: E402
from densessm_train.models import LM, make_config  # noqa: E402
from densessm_train.train import make_opt  # noqa: E402
import torch.nn.functional as F  # noqa: E402

T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def bench(name, cfg, batch, seq, steps=8, compile_=False):
    torch.cuda.reset_peak_memory_stats()
    m = LM(make_config(**cfg)).cuda()
    opt = make_opt(m, 1e-3)
    fwd = torch.compile(m) if compile_ else m
    x = torch.randint(0, cfg["vocab_size"], (batch, seq + 1), device="cuda")
    times = []
    for i in range(3 + steps):
        torch.cuda.synchronize()
        t = time.time()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            lg = fwd(x[:, :-1])
        loss = F.cross_entropy(lg.float().reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        times.append(time.time() - t)
    dt = sum(times[3:]) / steps
    r = {"model": name, "compile": compile_, "params": m.num_params(), "batch": batch, "seq": seq,
         "step_s": dt, "tokens_per_s": batch * seq / dt, "first_steps_s": times[:3],
         "peak_mem_gib": torch.cuda.max_memory_allocated() / 2 ** 30}
    log("bench", json.dumps(r))
    del m, opt, fwd
    torch.cuda.empty_cache()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=".device-carry/corpus")
    ap.add_argument("--out", default=os.environ.get("OUT", "out"))
    a = ap.parse_args()
    log("torch", torch.__version__, torch.cuda.get_device_name(0))
    fails = selftest.run("cuda")
    if fails:
        log("SELF-TEST FAILED", fails)
        sys.exit(1)
    log("self-test passed")
    # fixtures: the GPU's fp32 parallel form against the committed golden logits (from the CPU recurrence)
    torch.backends.cuda.matmul.allow_tf32 = False
    fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    fixture_diffs = {}
    for name in sorted(os.listdir(fx)):
        d = os.path.join(fx, name)
        if not os.path.isdir(d):
            continue
        cfg = json.load(open(os.path.join(d, "config.json")))
        m = LM(cfg)
        m.load_state_dict(st.load(os.path.join(d, "model.safetensors")))
        m = m.cuda().eval()
        g = json.load(open(os.path.join(d, "golden.json")))
        mx = 0.0
        for s in g["sequences"]:
            with torch.no_grad():
                lg = m(torch.tensor([s["ids"]], device="cuda"))[0].float().cpu()
            mx = max(mx, (lg - torch.tensor(s["logits"])).abs().max().item())
        fixture_diffs[name] = mx
        log(f"fixture {name}: GPU parallel fp32 vs golden max abs err {mx:.2e}")
    # tokenizer
    t = time.time()
    docs = {sp: read_split(a.corpus, sp) for sp in ("train", "validation", "test")}
    tok = train_tokenizer([d["text"] for d in docs["train"]], 8192)
    tok_s = time.time() - t
    save_tokenizer(tok, os.path.join(a.out, "tokenizer"))
    log(f"tokenizer trained in {tok_s:.1f}s, vocab {tok.get_vocab_size()}")
    stats = {"tokenizer_train_s": tok_s, "fixture_gpu_max_abs_err": fixture_diffs, "splits": {}}
    for sp, ds in docs.items():
        t = time.time()
        ids = encode_docs(tok, ds)
        nbytes = sum(len(d["text"].encode()) for d in ds)
        stats["splits"][sp] = {"files": len(ds), "bytes": nbytes, "tokens": int(len(ids)),
                               "bytes_per_token": nbytes / len(ids), "encode_s": time.time() - t}
        log(sp, json.dumps(stats["splits"][sp]))
    rt = tok.encode(docs["validation"][0]["text"][:2000])
    assert tok.decode(rt.ids) == docs["validation"][0]["text"][:2000], "tokenizer round trip failed"
    json.dump(stats, open(os.path.join(a.out, "stats.json"), "w"), indent=1)
    # throughput
    torch.backends.cuda.matmul.allow_tf32 = True
    res = []
    for name, cfg in C.CMP.items():
        res.append(bench(name, cfg, 32, 512))
    res.append(bench("target", C.TARGET, 32, 512))
    res.append(bench("target_b64", C.TARGET, 64, 512))
    res.append(bench("draft", C.DRAFT, 32, 512))
    json.dump(res, open(os.path.join(a.out, "bench.json"), "w"), indent=1)
    for name, cfg in (("target", C.TARGET), ("dense_mamba_m2", C.CMP["dense_mamba_m2"])):
        if time.time() - T0 > 300:
            log("skipping compile bench (time)")
            break
        try:
            res.append(bench(name, cfg, 32, 512, compile_=True))
        except Exception as e:  # noqa: BLE001
            log("compile failed", name, repr(e)[:500])
        json.dump(res, open(os.path.join(a.out, "bench.json"), "w"), indent=1)
    log("done")


if __name__ == "__main__":
    main()
