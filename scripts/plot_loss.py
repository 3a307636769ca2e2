"""Plot a training run's loss curve (log.jsonl written by `vdbench train`) to a PNG.

    python scripts/plot_loss.py RUN_DIR/log.jsonl -o loss.png   # needs the `plot` extra
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--window", type=int, default=50, help="moving-average window (steps)")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in open(args.log) if line.strip()]
    step = np.array([r["step"] for r in rows])
    loss = np.array([r["loss"] for r in rows])
    w = min(args.window, len(loss))
    smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(step, loss, color="0.8", lw=0.6, label="per step")
    ax.plot(step[w - 1:], smooth, color="C0", lw=1.5, label=f"mean of {w} steps")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (v-MSE)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output)
    print(f"wrote {args.output} ({len(rows)} steps)")


if __name__ == "__main__":
    main()
