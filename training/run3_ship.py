"""Device run 3: the shipped default. Trains the dense_retnet target and its ~1/10 draft side by side (same
batches; torch.compile'd training forward), then Medusa heads and PaSS lookahead embeddings on the frozen target,
exports both HF folders (fp16) with golden logits, and packs them as $OUT/models.tar.part-* (<16 MiB pieces).
    PYTHONUNBUFFERED=1 python3 training/run3_ship.py --corpus .device-carry/corpus --out $OUT | tee $OUT/log.txt
Resuming: --init-target/--init-draft DIR load fp16 weights from an exported folder; the optimizer restarts
(optimizer state is not brought back from the GPU machine).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from densessm_train import configs as C  # noqa: E402
from densessm_train import selftest, st  # noqa: E402
from densessm_train.data import load_tokenizer, token_streams  # noqa: E402
from densessm_train.export import golden_logits, save_model_folder  # noqa: E402
from densessm_train.models import LM, make_config  # noqa: E402
from densessm_train.reference import recurrent_logits  # noqa: E402
from densessm_train.spec_heads import Lookahead, MedusaHeads, train_lookahead, train_medusa  # noqa: E402
from densessm_train.train import train_side_by_side  # noqa: E402

T0 = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_NAME, DRAFT_NAME = "dense-retnet-23m", "dense-retnet-2.6m-draft"


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def fp16_copy_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(torch.float16).to(p.dtype))
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=".device-carry/corpus")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer"))
    ap.add_argument("--out", default=os.environ.get("OUT", "out"))
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--draft-lr", type=float, default=2e-3)
    ap.add_argument("--medusa-steps", type=int, default=1200)
    ap.add_argument("--lookahead-steps", type=int, default=500)
    ap.add_argument("--init-target", default="")
    ap.add_argument("--init-draft", default="")
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()
    log("torch", torch.__version__, torch.cuda.get_device_name(0))
    if selftest.run("cuda"):
        sys.exit("SELF-TEST FAILED")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    tok = load_tokenizer(a.tokenizer)
    streams = {k: torch.from_numpy(v).cuda() for k, v in token_streams(a.corpus, tok).items()}
    log("tokens", {k: len(v) for k, v in streams.items()})
    torch.manual_seed(0)
    target = LM(make_config(**C.TARGET)).cuda()
    torch.manual_seed(1)
    draft = LM(make_config(**C.DRAFT)).cuda()
    for m, d in ((target, a.init_target), (draft, a.init_draft)):
        if d:
            m.load_state_dict({k: v.float() for k, v in st.load(os.path.join(d, "model.safetensors")).items()})
            log("initialised from", d)
    models = {"target": target, "draft": draft}
    fwd = None if a.no_compile else {k: torch.compile(m) for k, m in models.items()}
    res = train_side_by_side(models, streams, a.steps, a.batch, a.seq, {"target": a.lr, "draft": a.draft_lr},
                             warmup=200, log=log, seed=4321, eval_every=500, full_eval_every=1000, train_fwd=fwd)
    del fwd
    results = {"train": res, "argv": sys.argv}
    json.dump(results, open(os.path.join(a.out, "ship.json"), "w"), indent=1)
    # speculative companions on the frozen target, with the target's weights rounded to fp16 as shipped
    fp16_copy_(target)
    heads = MedusaHeads(C.TARGET["hidden_size"], 4).cuda()
    results["medusa"] = train_medusa(target, heads, streams, a.medusa_steps, 32, a.seq, 1e-3, log)
    log("medusa", json.dumps(results["medusa"]))
    la = Lookahead(target, 4).cuda()
    results["lookahead"] = train_lookahead(target, la, streams, a.lookahead_steps, 16, 256, 5e-3, log)
    log("lookahead", json.dumps(results["lookahead"]))
    fp16_copy_(heads)
    fp16_copy_(la)
    json.dump(results, open(os.path.join(a.out, "ship.json"), "w"), indent=1)
    # export
    root = "/tmp/ship_models"
    tdir, ddir = os.path.join(root, TARGET_NAME), os.path.join(root, DRAFT_NAME)
    save_model_folder(target, tdir, a.tokenizer)
    save_model_folder(draft, ddir, a.tokenizer)
    d = C.TARGET["hidden_size"]
    st.save({k: v.to(torch.float16) for k, v in heads.state_dict().items()},
            os.path.join(tdir, "medusa_heads.safetensors"), metadata={"format": "pt"})
    json.dump({"type": "medusa", "num_heads": 4, "hidden_size": d, "vocab_size": C.TARGET["vocab_size"],
               "input": "final_norm_output", "offsets": [2, 3, 4, 5],
               "formula": "x = RMSNorm_{model.norm}(h_L) at position t; logits_i = lm_head(x + silu(W_i x + b_i)) "
                          "predicts token t+2+i", "tensors": {"medusa_heads.{i}.weight": [d, d],
                                                             "medusa_heads.{i}.bias": [d]}},
              open(os.path.join(tdir, "heads_config.json"), "w"), indent=1)
    st.save({"lookahead.embeddings": la.embeddings.detach().to(torch.float16)},
            os.path.join(tdir, "lookahead.safetensors"), metadata={"format": "pt"})
    json.dump({"type": "pass_lookahead", "num_lookahead": 4, "hidden_size": d,
               "tensors": {"lookahead.embeddings": [4, d]},
               "usage": "after the context t_0..t_p append 4 chain nodes at absolute positions p+1..p+4 whose "
                        "layer-0 input is lookahead.embeddings[j-1] instead of embed[token]; logits at slot j "
                        "(1-based) predict t_{p+1+j}; the nodes are never committed"},
              open(os.path.join(tdir, "lookahead_config.json"), "w"), indent=1)
    t = time.time()
    gt = golden_logits(target, tok, "cuda", heads=heads, lookahead=la)
    gd = golden_logits(draft, tok, "cuda")
    json.dump(gt, open(os.path.join(tdir, "golden_logits.json"), "w"))
    json.dump(gd, open(os.path.join(ddir, "golden_logits.json"), "w"))
    log(f"golden logits in {time.time() - t:.1f}s")
    # the golden (GPU parallel form, fp32) against SPEC.md's token-by-token recurrence on the CPU, prompt 0
    for name, m, g in (("target", target, gt), ("draft", draft, gd)):
        sd = {k: v.detach().to(torch.float16).float().cpu() for k, v in m.state_dict().items()}
        ids = g["prompts"][0]["ids"]
        ref = recurrent_logits(m.cfg, sd, ids)
        gl = torch.tensor(g["prompts"][0]["full_logits"]["rows"])
        err = (ref[g["prompts"][0]["full_logits"]["positions"]] - gl).abs().max().item()
        tv = torch.tensor(g["prompts"][0]["topk_values"])
        ti = torch.tensor(g["prompts"][0]["topk_ids"])
        err2 = (ref.gather(1, ti) - tv).abs().max().item()
        results.setdefault("golden_vs_recurrence", {})[name] = {"full_rows_max_abs": err, "topk_max_abs": err2}
        log(f"{name}: golden vs CPU recurrence max abs err {err:.2e} (full rows), {err2:.2e} (top-8)")
    json.dump(results, open(os.path.join(a.out, "ship.json"), "w"), indent=1)
    subprocess.run(f"cd {root} && tar cf - {TARGET_NAME} {DRAFT_NAME} | split -b 15m -d - {a.out}/models.tar.part-",
                   shell=True, check=True)
    subprocess.run(f"ls -la {a.out}; du -sh {root}/*", shell=True)
    log("done")


if __name__ == "__main__":
    main()
