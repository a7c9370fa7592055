"""Export to the HF folder layout (DESIGN.md section 3) and golden logits for the TypeScript parity tests."""
import json
import os
import shutil

import torch

from . import st
from .data import EOT
from .models import LM

GOLDEN_PROMPTS = [
    ("code", "import os\nimport sys\n\n\ndef read_config(path, defaults=None):\n    \"\"\"Read a key=value config "
             "file and return a dict.\"\"\"\n    result = dict(defaults or {})\n    with open(path, encoding=\"utf-8\") "
             "as f:\n        for line in f:\n            line = line.strip()\n            if not line or "
             "line.startswith(\"#\"):\n                continue\n            key, _, value = line.partition(\"=\")\n"
             "            result[key.strip()] = value.strip()\n    return result\n"),
    ("prose", "The kernel keeps track of every page of physical memory with a small structure. When a process asks "
              "for memory, the allocator looks for a free block of the right order, splits larger blocks when it has "
              "to, and returns the pages to the caller. Freed pages are merged with their buddies again, so that "
              "large contiguous regions remain available for drivers that need them."),
    ("rst", "Tutorial\n========\n\nThis section introduces the :mod:`json` module. To encode a Python object as "
            "JSON, call :func:`json.dumps` with the object as its first argument::\n\n   >>> import json\n   >>> "
            "json.dumps({'a': 1, 'b': [1, 2, 3]})\n   '{\"a\": 1, \"b\": [1, 2, 3]}'\n\nThe inverse operation is "
            ":func:`json.loads`.\n"),
]
FULL_ROW_POSITIONS = [0, 1, 31, 63]


def model_config_json(cfg, extra=None):
    c = dict(cfg)
    arch = {"dense_retnet": "DenseRetNetForCausalLM", "mamba": "MambaForCausalLM",
            "dense_mamba": "DenseMambaForCausalLM"}[cfg["model_type"]]
    c.update({"architectures": [arch], "bos_token_id": EOT, "eos_token_id": EOT, "pad_token_id": EOT,
              "torch_dtype": "float16"})
    if extra:
        c.update(extra)
    return c


def fp16_roundtrip(model, device):
    """A fp32 copy of `model` whose weights are the fp16-rounded ones (what the engine loads and upcasts)."""
    m2 = LM(model.cfg)
    sd = {k: v.detach().to(torch.float16).to(torch.float32).cpu() for k, v in model.state_dict().items()}
    m2.load_state_dict(sd)
    return m2.to(device).eval()


def save_model_folder(model, outdir, tokdir, extra_config=None, dtype=torch.float16, card=None):
    os.makedirs(outdir, exist_ok=True)
    sd = {k: v.detach().to(dtype) for k, v in model.state_dict().items()}
    st.save(sd, os.path.join(outdir, "model.safetensors"), metadata={"format": "pt"})
    cfg = model_config_json(model.cfg, extra_config)
    if dtype == torch.float32:
        cfg["torch_dtype"] = "float32"
    json.dump(cfg, open(os.path.join(outdir, "config.json"), "w"), indent=1)
    json.dump({"bos_token_id": EOT, "eos_token_id": EOT, "pad_token_id": EOT, "do_sample": False,
               "max_new_tokens": 128}, open(os.path.join(outdir, "generation_config.json"), "w"), indent=1)
    if tokdir:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(tokdir, f), os.path.join(outdir, f))
    if card:
        open(os.path.join(outdir, "README.md"), "w").write(card)


def _r(x, nd=5):
    return [round(float(v), nd) for v in x]


def topk_record(logits, k=8, full_positions=()):
    """logits [T,V] fp32 -> dict with top-k values/ids per position and full rows at some positions."""
    v, i = torch.topk(logits, k, dim=-1)
    rec = {"top_k": k, "topk_values": [_r(r) for r in v], "topk_ids": [[int(a) for a in r] for r in i]}
    fp = [p for p in full_positions if p < logits.shape[0]]
    if fp:
        rec["full_logits"] = {"positions": fp, "rows": [_r(logits[p]) for p in fp]}
    return rec


@torch.no_grad()
def golden_logits(model, tok, device, n_pos=64, heads=None, lookahead=None):
    """Golden logits of `model` (fp32 forward of the fp16-rounded weights, TF32 off). Prompts are
    [<|endoftext|>] + tokenizer.encode(text), truncated to n_pos tokens."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    m = fp16_roundtrip(model, device)
    out = {"weights": "model.safetensors (fp16) upcast to fp32; fp32 math, TF32 off",
           "input": "ids = [<|endoftext|>=0] + tokenizer.encode(text, add_special_tokens=False), first n_pos",
           "n_pos": n_pos, "prompts": []}
    for name, text in GOLDEN_PROMPTS:
        ids = [EOT] + tok.encode(text, add_special_tokens=False).ids
        assert len(ids) >= n_pos, (name, len(ids))
        ids = ids[:n_pos]
        x = torch.tensor([ids], device=device)
        hid = m.hidden(x)[0]
        logits = m.logits_from_normed(hid)
        rec = {"name": name, "text": text, "ids": ids, **topk_record(logits.float().cpu(), 8, FULL_ROW_POSITIONS)}
        if heads is not None:
            hl = heads.head_logits(m, hid)  # [nh, T, V]
            rec["medusa"] = [topk_record(hl[i].float().cpu(), 8, [n_pos - 1]) for i in range(hl.shape[0])]
        if lookahead is not None:
            la = lookahead.lookahead_logits(m, x)[0]  # [k, V] logits at the k lookahead slots after the prompt
            rec["lookahead"] = topk_record(la.float().cpu(), 8, list(range(la.shape[0])))
        out["prompts"].append(rec)
    return out
