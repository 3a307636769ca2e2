#!/usr/bin/env bash
# The paper's comparisons in miniature on the shapes protocols, with the committed demo model.
# Regenerates results/shapes/*.csv (records and sample grids in results/shapes/runs/).
# Counts are small (CPU budget): 16 test clips × 1 sample (Table 2), 8 clips × 1 64-frame video
# (Table 6), 32 clips × 2 samples and 64 unconditional samples per model (Table 4); results are
# labelled preset "custom" and are not comparable to the paper's numbers.
# Usage: bash scripts/shapes_results.sh            (all tables; Table 4 needs CKPT_NOIMG)
#        TABLES="2 6" bash scripts/shapes_results.sh
#        RESUME=1 VDBENCH_RUN_CACHE=DIR ...        (reuse the finished chunks cached in DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
VDB=${VDB:-.venv/bin/vdbench}
CKPT=${CKPT:-checkpoints/shapes-tiny-v}
OUT=results/shapes
export VDBENCH_RUN_CACHE=${VDBENCH_RUN_CACHE:-$(mktemp -d)}  # chunk caches stay out of git
C=(--cache-dir "$VDBENCH_RUN_CACHE" ${RESUME:+--resume})  # RESUME=1: reuse finished chunks
TABLES=${TABLES:-"2 6 4"}
table2() {
rm -rf "$OUT/runs/table2"
# Table 2: ancestral vs Langevin at equal network evaluations (paper: 512 vs 256 steps).
$VDB run shapes --preset quick --clips 16 --samples-per-clip 1 --checkpoint "$CKPT" \
    --sampler ancestral --steps 64 --batch-size 16 --out "$OUT/runs/table2" "${C[@]}"
$VDB run shapes --preset quick --clips 16 --samples-per-clip 1 --checkpoint "$CKPT" \
    --sampler langevin --steps 32 --batch-size 16 --out "$OUT/runs/table2" "${C[@]}"
$VDB export --runs "$OUT/runs/table2" -o "$OUT/table2_samplers.csv"
}
table6() {
rm -rf "$OUT/runs/table6"
# Table 6: 64-frame block-autoregressive extension, replacement vs reconstruction guidance.
$VDB compare shapes-extension --preset quick --clips 8 --checkpoint "$CKPT" \
    --conditioning replacement,reconstruction --batch-size 8 --out "$OUT/runs/table6" "${C[@]}"
$VDB export --runs "$OUT/runs/table6" -o "$OUT/table6_extension.csv"
}
table4() {
# Table 4: joint image-video training. The same recipe and step count (2,000) without appended
# image frames; that checkpoint is not committed (see checkpoints/shapes-tiny-v/README.md for
# the command that trains it). Both are evaluated on the same seeds: 1 -> 15 prediction and
# 16 frames from noise.
CKPT_NOIMG=${CKPT_NOIMG:?set CKPT_NOIMG to the checkpoint trained with train.image_frames=0}
rm -rf "$OUT/runs/table4"
for ck in "$CKPT" "$CKPT_NOIMG"; do
  $VDB run shapes --preset quick --clips 32 --samples-per-clip 2 --checkpoint "$ck" \
      --sampler langevin --steps 32 --batch-size 16 --out "$OUT/runs/table4" "${C[@]}"
  $VDB run shapes-uncond --preset quick --clips 64 --checkpoint "$ck" \
      --sampler ancestral --steps 64 --batch-size 16 --out "$OUT/runs/table4" "${C[@]}"
done
$VDB export --runs "$OUT/runs/table4" -o "$OUT/table4_joint_training.csv"
}
for t in $TABLES; do "table$t"; done
rm -f "$OUT"/runs/*/*.gif  # keep the PNG grids in git, not the animations
