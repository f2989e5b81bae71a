"""Does the learning-rate finder's suggestion train at least as well as the default rate?
LeNet-5 and the CIFAR-style ResNet-20 on the bundled MNIST sample, in one run.

For each model and seed: ``find_learning_rate`` (the defaults ``train(learning_rate=
"auto")`` uses: 100 batches from 1e-7 to 10, Adam, batch 32) gives its suggestion by each
rule (valley, the default; minimum/10; steepest), then ``train`` runs ``--epochs`` epochs
from the same seed with Adam at the default 1e-3, at the valley suggestion (what
``--lr auto`` trains with) and at the minimum/10 one (all constant, no early stopping;
steepest is printed, not trained). ResNet-20 (He et al. 2015, section 4.2, 0.27M parameters,
32x32x3 input) sees the digits resized to 32x32 and repeated to three channels.

Printed per model: the suggestions of each seed, then for each rate the mean and the range
over the seeds of the test accuracy of the best-validation epoch (1,000 held-out digits),
the last epoch's validation loss, and the seconds of the finder. On the 2 shared CPU cores
of the development machine the default settings take about 8 minutes.

    .venv/bin/python benchmarks/bench_lr_find.py [--seeds 0,1,2] [--epochs 3]
        [--resnet-seeds 0,1] [--resnet-epochs 2] [--models lenet5,resnet20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cnnzoo.training import find_learning_rate, train
from cnnzoo.training.lr_sweep import RULES, suggest_learning_rate

DEFAULT_RATE = 1e-3  # train()'s default


def trained(model: str, rate: float, seed: int, epochs: int, folder: Path) -> dict:
    result = train(
        model, epochs=epochs, learning_rate=rate, seed=seed, patience=None, verbose=0,
        out=folder / f"{model}-{rate:.3g}-{seed}",
    )  # fmt: skip
    return {
        "test_accuracy": result.metrics["test_accuracy"],
        "val_loss": result.history["val_loss"][-1],
    }


def spread(values: list[float], digits: int = 3) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (
        f"{statistics.mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3, help="LeNet-5's epochs")
    parser.add_argument("--resnet-epochs", type=int, default=2)
    parser.add_argument("--resnet-seeds", default="0,1", help="ResNet-20's seeds")
    parser.add_argument("--models", default="lenet5,resnet20")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            resnet = model.startswith("resnet")
            epochs = args.resnet_epochs if resnet else args.epochs
            seeds = [int(seed) for seed in (args.resnet_seeds if resnet else args.seeds).split(",")]
            rows: dict[str, list[dict]] = {
                "default 1e-3": [], "valley (the default rule: --lr auto)": [], "minimum/10": []
            }  # fmt: skip
            finder_seconds = []
            print(f"\n{model}, {epochs} epoch(s), seeds {seeds}")
            for seed in seeds:
                start = time.perf_counter()
                found = find_learning_rate(model, seed=seed)
                finder_seconds.append(time.perf_counter() - start)
                by_rule = {
                    rule: suggest_learning_rate(found.learning_rates, found.smoothed, rule)[0]
                    for rule in RULES
                }
                print(
                    f"  seed {seed}: "
                    + ", ".join(f"{r} {v:.3g}" for r, v in by_rule.items())
                    + f" ({found.steps} steps, {found.stop_reason})"
                )
                rows["default 1e-3"].append(trained(model, DEFAULT_RATE, seed, epochs, Path(tmp)))
                for rule, name in (("valley", "valley (the default rule: --lr auto)"),
                                   ("minimum", "minimum/10")):  # fmt: skip
                    rows[name].append(trained(model, by_rule[rule], seed, epochs, Path(tmp)))
            print(f"  finder: {spread(finder_seconds, 1)} s")
            print("  | rate | test accuracy | last val_loss |")
            print("  |---|---|---|")
            for name, runs in rows.items():
                accuracy = spread([run["test_accuracy"] for run in runs])
                loss = spread([run["val_loss"] for run in runs])
                print(f"  | {name} | {accuracy} | {loss} |")


if __name__ == "__main__":
    main()
