#!/bin/sh
# One fresh server per (clients, drafter), so that rows do not share warm caches or a Token Recycling matrix.
cd "$(dirname "$0")/../.."
for c in 1 8 32; do
  r=3; [ $c = 32 ] && r=1
  for d in none auto; do
    timeout 400 node bench/server/load-test.mjs --spawn="--model models/dense-retnet-23m --draft-model models/dense-retnet-2.6m-draft --max-batch 32 --max-queue 64 --threads 1" \
      --clients $c --drafter $d --duration 8 --repeats $r --max-tokens 24 --endpoint completions \
      --out ${OUT:-/tmp}/m23-$c-$d.json > ${OUT:-/tmp}/m23-$c-$d.log 2>&1
    grep -E "clients=|unexpectedly" ${OUT:-/tmp}/m23-$c-$d.log
  done
done
echo matrix-done
