#!/usr/bin/env bash
# One-line rebuild of everything in issue #4: corpus -> tokenizer -> paper comparison -> target/draft/heads/
# lookahead training -> export into models/.
#   bash training/rebuild.sh [WORKDIR]
# Needs: apt-get (Debian bookworm lists) for the corpus; python3 with PyTorch >= 2.1 + CUDA, `tokenizers` and
# numpy for the rest. On this project's machines the corpus step runs on the Node machine and each python step
# is one `run` on the GPU machine (commands in training/README.md), with .device-carry carried.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/densessm-rebuild}
mkdir -p "$W/run1" "$W/run2" "$W/run3"
export PYTHONUNBUFFERED=1
[ -f .device-carry/corpus/train.jsonl.xz ] || python3 training/build_corpus.py --out .device-carry/corpus
python3 training/run1.py --corpus .device-carry/corpus --out "$W/run1" | tee "$W/run1/log.txt"
cp "$W/run1/tokenizer/tokenizer.json" "$W/run1/tokenizer/tokenizer_config.json" training/tokenizer/
python3 training/run2_compare.py --corpus .device-carry/corpus --out "$W/run2" --budget 260 | tee "$W/run2/log.txt"
python3 training/run3_ship.py --corpus .device-carry/corpus --out "$W/run3" | tee "$W/run3/log.txt"
cat "$W"/run3/models.tar.part-* | tar xf - -C models/
echo "models/ rebuilt; logs in $W"
