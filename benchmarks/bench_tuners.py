"""Hyperband against random search: how many training epochs and how much wall time each
needs to first find a LeNet-5 that reaches a target validation accuracy on the bundled
MNIST sample, with the same seed, the same space and the same per-trial cap.

Both searches run in this process, one after the other, through :func:`cnnzoo.tuning.search`.
A trial's epochs and seconds come from the trial table; the cost of reaching the target is
the sum over the trials up to and including the first one whose best validation accuracy
reaches it (so it counts that trial's epochs in full: an upper bound for both tuners).

    .venv/bin/python benchmarks/bench_tuners.py [--targets 0.9,0.93,0.95] [--max-epochs 9]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnzoo.tuning import search

# Learning rate and batch size matter most on this task; width and activation change the
# network. Everything else stays at its default.
TUNED = ["learning_rate", "batch_size", "width", "activation", "optimizer"]


def cost_to(rows: list[dict], target: float) -> dict | None:
    """Trials, epochs and seconds spent up to the first trial reaching ``target``."""
    epochs = seconds = 0.0
    for trial, row in enumerate(rows, start=1):
        epochs += row["epochs"] or 0
        seconds += row["seconds"] or 0.0
        if row["score"] is not None and row["score"] >= target:
            return {"trial": trial, "epochs": epochs, "seconds": seconds}
    return None


def run(tuner: str, args) -> dict:
    start = time.perf_counter()
    result = search(
        "lenet5_modern", "mnist-sample", tuner=tuner, max_epochs=args.max_epochs,
        max_trials=args.max_trials if tuner == "random" else None, seed=args.seed,
        tune=TUNED, patience=None, directory=tempfile.mkdtemp(), verbose=0,
    )  # fmt: skip
    total = time.perf_counter() - start
    return {
        "tuner": tuner, "rows": result.trials, "seconds": total, "best": result.best_score,
        "epochs": sum(row["epochs"] or 0 for row in result.trials),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="0.90,0.93,0.95",
                        help="validation accuracies to reach, comma-separated")  # fmt: skip
    parser.add_argument("--max-epochs", type=int, default=9, help="most epochs of a trial")
    parser.add_argument("--max-trials", type=int, default=12, help="random search's trials")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = {tuner: run(tuner, args) for tuner in ("hyperband", "random")}
    print("\nLeNet-5 (modern) on the bundled MNIST sample, seed", args.seed)
    for tuner, item in runs.items():
        print(
            f"{tuner:<10} {len(item['rows'])} trials, {item['epochs']} epochs, "
            f"{item['seconds']:.1f} s, best val_accuracy {item['best']:.3f}"
        )
    print(f"\n{'target':>6}  {'hyperband':>26}  {'random':>26}  random/hyperband")
    for target in (float(text) for text in args.targets.split(",")):
        reached = {tuner: cost_to(item["rows"], target) for tuner, item in runs.items()}
        cells = [
            f"trial {r['trial']:>2}: {r['epochs']:>3.0f} ep, {r['seconds']:>5.1f} s" if r
            else "not reached"
            for r in reached.values()
        ]  # fmt: skip
        hyperband, random = reached.values()
        ratio = (
            f"{random['epochs'] / hyperband['epochs']:.2f}x epochs, "
            f"{random['seconds'] / hyperband['seconds']:.2f}x time"
            if hyperband and random else "-"
        )  # fmt: skip
        print(f"{target:>6.2f}  {cells[0]:>26}  {cells[1]:>26}  {ratio}")


if __name__ == "__main__":
    main()
