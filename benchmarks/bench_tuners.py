"""Hyperband against random search: how many training epochs and how much wall time each
needs to first find a LeNet-5 that reaches a target validation accuracy on the bundled
MNIST sample, with the same seed, the same space and the same per-trial cap.

Both searches run in this process, one after the other, through :func:`cnnzoo.tuning.search`.
A trial's epochs and seconds come from the trial table; the cost of reaching the target is
the sum over the trials up to and including the first one whose best validation accuracy
reaches it (so it counts that trial's epochs in full: an upper bound for both tuners).

    .venv/bin/python benchmarks/bench_tuners.py [--target 0.97] [--max-epochs 9] [--seed 0]
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


def run(tuner: str, args) -> dict:
    start = time.perf_counter()
    result = search(
        "lenet5_modern", "mnist-sample", tuner=tuner, max_epochs=args.max_epochs,
        max_trials=args.max_trials if tuner == "random" else None, seed=args.seed,
        tune=TUNED, patience=None, directory=tempfile.mkdtemp(), verbose=0,
    )  # fmt: skip
    total = time.perf_counter() - start
    epochs = seconds = 0.0
    reached = None
    for trial, row in enumerate(result.trials, start=1):
        epochs += row["epochs"] or 0
        seconds += row["seconds"] or 0.0
        if reached is None and row["score"] is not None and row["score"] >= args.target:
            reached = {"trial": trial, "epochs": epochs, "seconds": seconds}
    return {
        "tuner": tuner, "trials": len(result.trials), "epochs": epochs, "seconds": total,
        "best": result.best_score, "reached": reached,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.97, help="validation accuracy")
    parser.add_argument("--max-epochs", type=int, default=9, help="most epochs of a trial")
    parser.add_argument("--max-trials", type=int, default=12, help="random search's trials")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = [run("hyperband", args), run("random", args)]
    print(f"\nLeNet-5 (modern) on the bundled MNIST sample, target val_accuracy {args.target}")
    print(f"{'tuner':<10} {'trials':>6} {'epochs':>7} {'seconds':>8} {'best':>6}  to target")
    for item in runs:
        reached = item["reached"]
        to_target = (
            f"trial {reached['trial']}: {reached['epochs']:.0f} epochs, {reached['seconds']:.1f} s"
            if reached else "not reached"
        )  # fmt: skip
        print(
            f"{item['tuner']:<10} {item['trials']:>6} {item['epochs']:>7.0f} "
            f"{item['seconds']:>8.1f} {item['best']:>6.3f}  {to_target}"
        )
    hyperband, random = (item["reached"] for item in runs)
    if hyperband and random:
        print(
            f"random / hyperband to the target: {random['epochs'] / hyperband['epochs']:.2f}x "
            f"the epochs, {random['seconds'] / hyperband['seconds']:.2f}x the time"
        )
    else:
        print("Not both reached the target: pick a lower --target to compare them.")


if __name__ == "__main__":
    main()
