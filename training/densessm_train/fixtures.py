"""Tiny random-weight fixtures for the TypeScript engine's PyTorch-parity tests (fp32 safetensors, vocab 256).
Golden logits come from reference.py's token-by-token recurrence (SPEC.md's definition); the parallel training
form's agreement with it is recorded too.
    cd training && python3 -m densessm_train.fixtures --out fixtures
"""
import argparse
import json
import os

import torch

from .export import save_model_folder
from .reference import recurrent_logits
from .selftest import tiny_models

SEQS = {
    "seq_a": [3, 17, 250, 0, 99, 42, 42, 7, 128, 5, 64, 200],
    "seq_b": [255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="fixtures")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    index = {}
    for name, model in tiny_models("cpu").items():
        d = os.path.join(a.out, name)
        save_model_folder(model, d, None, dtype=torch.float32)
        sd = model.state_dict()
        rec = {"model": name, "weights": "model.safetensors (fp32)", "source": "training/densessm_train/reference.py "
               "token-by-token recurrence (fp32)", "sequences": []}
        maxdiff = 0.0
        for sname, ids in SEQS.items():
            ref = recurrent_logits(model.cfg, sd, ids)
            with torch.no_grad():
                par = model.to(a.device)(torch.tensor([ids], device=a.device))[0].float().cpu()
            maxdiff = max(maxdiff, (par - ref).abs().max().item())
            rec["sequences"].append({"name": sname, "ids": ids,
                                     "logits": [[round(float(v), 5) for v in row] for row in ref]})
        rec["parallel_form_max_abs_diff"] = maxdiff
        json.dump(rec, open(os.path.join(d, "golden.json"), "w"))
        index[name] = {"config": model.cfg, "params": model.num_params(), "parallel_vs_recurrent": maxdiff}
        print(name, model.num_params(), f"parallel vs recurrent {maxdiff:.2e}")
    json.dump(index, open(os.path.join(a.out, "index.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
