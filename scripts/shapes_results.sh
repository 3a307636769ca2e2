#!/usr/bin/env bash
# The paper's comparisons in miniature on the shapes protocols, with the committed demo model.
# Regenerates results/shapes/*.csv (records and sample grids in results/shapes/runs/).
# Counts are small (CPU budget): 16 test clips × 1 sample (Table 2), 8 clips × 1 64-frame video
# (Table 6); results are labelled preset "custom" and are not comparable to the paper's numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
VDB=${VDB:-.venv/bin/vdbench}
CKPT=${CKPT:-checkpoints/shapes-tiny-v}
OUT=results/shapes
rm -rf "$OUT/runs"
# Table 2: ancestral vs Langevin at equal network evaluations (paper: 512 vs 256 steps).
$VDB run shapes --preset quick --clips 16 --samples-per-clip 1 --checkpoint "$CKPT" \
    --sampler ancestral --steps 64 --batch-size 16 --out "$OUT/runs/table2"
$VDB run shapes --preset quick --clips 16 --samples-per-clip 1 --checkpoint "$CKPT" \
    --sampler langevin --steps 32 --batch-size 16 --out "$OUT/runs/table2"
$VDB export --runs "$OUT/runs/table2" -o "$OUT/table2_samplers.csv"
# Table 6: 64-frame block-autoregressive extension, replacement vs reconstruction guidance.
$VDB compare shapes-extension --preset quick --clips 8 --checkpoint "$CKPT" \
    --conditioning replacement,reconstruction --batch-size 8 --out "$OUT/runs/table6"
$VDB export --runs "$OUT/runs/table6" -o "$OUT/table6_extension.csv"
rm -f "$OUT"/runs/*/*.gif  # keep the PNG grids in git, not the animations
