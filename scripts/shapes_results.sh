#!/usr/bin/env bash
# The paper's comparisons in miniature on the shapes protocols, with the committed demo model.
# Regenerates results/shapes/*.csv (records in results/shapes/runs/). Quick-preset counts:
# 16 test clips × 4 samples (Table 2) and 16 × 1 64-frame videos (Table 6).
set -euo pipefail
cd "$(dirname "$0")/.."
VDB=${VDB:-.venv/bin/vdbench}
CKPT=${CKPT:-checkpoints/shapes-tiny-v}
OUT=results/shapes
rm -rf "$OUT/runs"
# Table 2: ancestral vs Langevin at equal network evaluations (paper: 512 vs 256 steps).
$VDB run shapes --preset quick --checkpoint "$CKPT" --sampler ancestral --steps 64 \
    --out "$OUT/runs/table2"
$VDB run shapes --preset quick --checkpoint "$CKPT" --sampler langevin --steps 32 \
    --out "$OUT/runs/table2"
$VDB export --runs "$OUT/runs/table2" -o "$OUT/table2_samplers.csv"
# Table 6: 64-frame block-autoregressive extension, replacement vs reconstruction guidance.
$VDB compare shapes-extension --preset quick --checkpoint "$CKPT" \
    --conditioning replacement,reconstruction --out "$OUT/runs/table6"
$VDB export --runs "$OUT/runs/table6" -o "$OUT/table6_extension.csv"
