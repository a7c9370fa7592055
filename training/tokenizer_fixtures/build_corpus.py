"""Builds the small training corpus and held-out text for the tokenizer fixtures.

Runs on the developer machine (plain Python 3, no extra libraries). The corpus mixes the Vim tutor in
several languages (Debian's vim-runtime, Vim license), TypeScript source from this repository (code with
tabs, indentation and long identifiers), and seeded synthetic lines with emoji, accents and whitespace
runs, so that the trained tokenizers have seen every script the parity texts use.
"""

import glob
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TUTOR_DIR = "/usr/share/vim/vim90/tutor"
LANGS = ["", "ja", "zh", "ko", "ru", "el", "fr", "de", "es", "pl"]
TRAIN_BYTES_PER_LANG = 24_000
HELDOUT_BYTES_PER_LANG = 1_200

EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "❤️‍🔥", "🦀", "🚀", "✨", "🎉", "🙂", "🧪", "☕"]
WORDS = ["state", "space", "model", "token", "stream", "décodage", "über", "niño", "日本", "模型", "토큰", "модель"]


def cut_utf8(data: bytes, limit: int) -> str:
    return data[:limit].decode("utf-8", errors="ignore")


def main() -> None:
    rng = random.Random(1234)
    train_parts = []
    heldout_parts = []
    for lang in LANGS:
        path = os.path.join(TUTOR_DIR, "tutor" + ("." + lang + ".utf-8" if lang else ""))
        data = open(path, "rb").read()
        train_parts.append(cut_utf8(data, TRAIN_BYTES_PER_LANG))
        tail = data[-HELDOUT_BYTES_PER_LANG:]
        heldout_parts.append(tail.decode("utf-8", errors="ignore"))

    ts_files = sorted(glob.glob(os.path.join(REPO, "packages", "tensor", "src", "**", "*.ts"), recursive=True))
    code = "".join(open(p, encoding="utf-8").read() for p in ts_files)
    # Tabs as indentation too, so tab runs are in the vocabulary.
    train_parts.append(code[:40_000])
    train_parts.append(code[:20_000].replace("  ", "\t"))
    heldout_parts.append(code[-2_000:].replace("  ", "\t"))

    synthetic = []
    for _ in range(3000):
        n = rng.randint(3, 12)
        line = []
        for _ in range(n):
            r = rng.random()
            if r < 0.15:
                line.append(rng.choice(EMOJI))
            elif r < 0.25:
                line.append(str(rng.randint(0, 99999)))
            else:
                line.append(rng.choice(WORDS))
        sep = rng.choice([" ", " ", " ", "  ", "\t", "   "])
        synthetic.append(sep.join(line) + rng.choice(["", " ", "  ", "\t"]))
    train_parts.append("\n".join(synthetic))

    corpus = "\n".join(train_parts)
    heldout = "\n".join(heldout_parts)
    with open(os.path.join(HERE, "corpus.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(corpus)
    with open(os.path.join(HERE, "heldout.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(heldout)
    print(json.dumps({"corpus_bytes": len(corpus.encode()), "heldout_bytes": len(heldout.encode())}))


if __name__ == "__main__":
    main()
