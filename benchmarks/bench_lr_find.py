"""Does the learning-rate finder's suggestion train at least as well as the default rate?
LeNet-5 and the CIFAR-style ResNet-20 on the bundled MNIST sample, with Adam and with SGD,
in one run.

For each case (model and optimizer) and seed: ``find_learning_rate`` (the defaults
``train(learning_rate="auto")`` uses: 100 batches from 1e-7 to 10, batch 32) gives its
suggestion by each rule, then ``train`` runs the case's epochs from the same seed at
Keras' default rate of the optimizer (Adam 1e-3, SGD 1e-2) and at the minimum/10, the
minimum/4 and the valley suggestions (all constant, no early stopping; steepest is
printed, not trained). The row of the optimizer's default rule (minimum/4 for SGD,
minimum/10 for the others) is marked: it is what ``--lr auto`` trains with.
ResNet-20 (He et al. 2015, section 4.2, 0.27M parameters, 32x32x3 input) sees the digits
resized to 32x32 and repeated to three channels.

Printed per case: the suggestions of each seed, then for each rate the mean and the range
over the seeds of the test accuracy of the best-validation epoch (1,000 held-out digits),
of its difference from the default rate's, seed by seed, and of the last epoch's
validation loss. On the 2 shared CPU cores of the development machine the
default cases take about 25 minutes.

    .venv/bin/python benchmarks/bench_lr_find.py [--cases lenet5:adam:3:0-4,...]

A case is ``model:optimizer:epochs:seeds`` (seeds ``first-last`` or ``a,b``... joined by
``+``, as in ``0+2``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

from cnnzoo.training import find_learning_rate, train
from cnnzoo.training.lr_sweep import RULES, default_rule, suggest_learning_rate

CASES = (
    "lenet5:adam:3:0-4,lenet5:adam:10:0-4,resnet20:adam:2:0-2,resnet20:adam:4:0-2,"
    "lenet5:sgd:3:0-2,resnet20:sgd:2:0-2"
)
TRAINED = ("minimum/10", "minimum/4", "valley")  # steepest: printed only


def default_rate(optimizer: str) -> float:
    """Keras' own default rate of the optimizer (Adam 1e-3, SGD 1e-2)."""
    return float(keras.optimizers.get(optimizer).learning_rate)


def trained(model: str, optimizer: str, rate: float, seed: int, epochs: int, out: Path):
    result = train(
        model, epochs=epochs, optimizer=optimizer, learning_rate=rate, seed=seed, patience=None,
        verbose=0, out=out,
    )  # fmt: skip
    return result.metrics["test_accuracy"], result.history["val_loss"][-1]


def spread(values: list[float], digits: int = 3, sign: bool = False) -> str:
    """The mean, and the lowest and highest in brackets: ``0.941 (0.925 to 0.955)``."""
    form = f"{'+' if sign else ''}.{digits}f"
    if len(values) == 1:
        return format(values[0], form)
    low, high = format(min(values), form), format(max(values), form)
    return f"{format(statistics.mean(values), form)} ({low} to {high})"


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split("+")]


def run_case(model: str, optimizer: str, epochs: int, seeds: list[int], folder: Path) -> None:
    default = default_rate(optimizer)
    auto = default_rule(optimizer)
    names = {"default": f"default {default:g}", auto: f"{auto} (--lr auto)"}
    runs: dict[str, list[tuple[float, float]]] = {key: [] for key in ("default", *TRAINED)}
    suggested: dict[str, list[float]] = {rule: [] for rule in RULES}
    finder_seconds = []
    print(f"\n{model}, {optimizer}, {epochs} epoch(s), seeds {seeds}", flush=True)
    for seed in seeds:
        start = time.perf_counter()
        found = find_learning_rate(model, optimizer=optimizer, seed=seed)
        finder_seconds.append(time.perf_counter() - start)
        for rule in RULES:
            rate = suggest_learning_rate(found.learning_rates, found.smoothed, rule)[0]
            suggested[rule].append(rate)
        print(f"  seed {seed}: " + ", ".join(f"{r} {v[-1]:.2g}" for r, v in suggested.items())
              + f" ({found.steps} steps, {found.stop_reason})", flush=True)  # fmt: skip
        for key in runs:
            rate = default if key == "default" else suggested[key][-1]
            out = folder / f"{model}-{optimizer}-{epochs}-{key.replace('/', '')}-{seed}"
            runs[key].append(trained(model, optimizer, rate, seed, epochs, out))
    print(f"  finder: {spread(finder_seconds, 1)} s")
    print("  | rate | suggested | test accuracy | minus the default's | last val_loss |")
    print("  |---|---|---|---|---|")
    for key, results in runs.items():
        rates = "-" if key == "default" else ", ".join(f"{v:.2g}" for v in suggested[key])
        accuracy = [run[0] for run in results]
        gains = [run[0] - base[0] for run, base in zip(results, runs["default"], strict=True)]
        gain = "-" if key == "default" else spread(gains, sign=True)
        loss = spread([run[1] for run in results])
        print(f"  | {names.get(key, key)} | {rates} | {spread(accuracy)} | {gain} | {loss} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=CASES, help=f"default {CASES}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            model, optimizer, epochs, seeds = case.split(":")
            run_case(model, optimizer, int(epochs), seeds_of(seeds), Path(tmp))


if __name__ == "__main__":
    main()
