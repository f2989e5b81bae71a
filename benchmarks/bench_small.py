"""What does ``cnnzoo.train`` cost over a plain ``model.fit``? LeNet-5 on the bundled MNIST
sample, both sides measured in one run.

Both sides train ``create_model("lenet5", num_classes=10)`` (the paper's variant, 32x32
input) from the same seed, on the sample's 3,600 training images, validating every epoch
on its 400 validation images, with Adam at the same learning rate, the same batch size
and sparse categorical cross-entropy with an accuracy metric. ``train`` runs with
``patience=None`` in a temporary folder, so it does all its usual work: run folder,
checkpoint of the best model, TensorBoard logs, backup and ``history.csv`` after every
epoch, the NaN check after every batch, and at the end the evaluation of the best model
and ``curves.png``. The plain side is ``compile`` and ``fit`` with no callback of its own;
its input is, by default, ``cnnzoo.data.pipeline`` with the arguments ``train`` gives it
(resize 28x28 to 32x32, scale [0, 1] to [0, 255], shuffle, batch, prefetch), so both see
the same batches and only ``train``'s own work differs; ``--plain-input numpy`` gives it
instead numpy arrays converted once by that pipeline and ``fit``'s own shuffling.

Timing: one timing callback, passed to ``train(callbacks=...)`` (which runs it before its
own) and to the plain ``fit``. An epoch's time runs from its ``on_epoch_begin`` to the next
one's (the last: to ``on_train_end``), so it holds the training steps, the validation and
every callback's end-of-epoch work (for ``train``: checkpoint, backup, logs).

(a) Images per second: 3,600 over the median epoch time, the first epoch (tracing)
excluded; the ratio train/plain. (b) Time to ``--target`` validation accuracy: seconds
from the start of the call (``train(...)``; for the plain side from loading the data,
building and compiling) to the end of the first epoch that reaches it, and which epoch,
or "not reached in N epochs" (``--epochs`` is the cap; 98% is close to the best this
LeNet-5 reaches on 3,600 images, so it may take more epochs than the default); ``train``'s
total time also holds its final evaluation and figure. (c) ``--steps-per-execution
1,4,16``: images per second of both sides for each value over ``--spe-epochs`` epochs
(first excluded), to see whether compiling several steps into one call speeds ``train``
up; an empty list skips (c). ``--repeats`` runs (a, b) again with the sides in the other
order, ``--spe-rounds`` passes over the values of (c) again in the other order; medians
are printed. On a busy machine one pass is noisy (other processes' load drifts over the
tens of seconds a pass takes).

    .venv/bin/python benchmarks/bench_small.py [--epochs 15] [--batch-size 32]
        [--steps-per-execution 1,4,16] [--spe-epochs 3] [--spe-rounds 1] [--repeats 1]
        [--plain-input numpy] [--skip-ab]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from cnnzoo import create_model
from cnnzoo.data import load_sample, pipeline
from cnnzoo.training import train

TRAIN_IMAGES = 3600  # the sample's training split, as load_sample("mnist") cuts it


class EpochClock(keras.callbacks.Callback):
    """Start of every epoch, end of training, and each epoch's validation accuracy."""

    def __init__(self):
        super().__init__()
        self.starts: list[float] = []
        self.val_accuracy: list[float] = []
        self.end = math.nan

    def on_epoch_begin(self, epoch, logs=None):
        self.starts.append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.val_accuracy.append(float((logs or {}).get("val_accuracy", math.nan)))

    def on_train_end(self, logs=None):
        self.end = time.perf_counter()

    def epoch_ends(self) -> list[float]:
        return [*self.starts[1:], self.end]


@dataclass
class Run:
    side: str
    images_per_second: float  # median epoch, first excluded
    first_epoch: float
    reached: tuple[float, int] | None  # seconds from the call's start, epoch (1-based)
    final_val_accuracy: float
    best_val_accuracy: tuple[float, int]  # accuracy, epoch (1-based)
    total: float


def run_train(args, spe: int, epochs: int, clock: EpochClock) -> float:
    with tempfile.TemporaryDirectory() as folder:
        train(
            "lenet5", "mnist-sample", out=Path(folder) / "run", epochs=epochs,
            batch_size=args.batch_size, optimizer="adam", learning_rate=args.learning_rate,
            patience=None, seed=args.seed, steps_per_execution=spe, callbacks=[clock], verbose=0,
        )  # fmt: skip
        return time.perf_counter()  # the run folder is finished (its removal is not timed)


def run_plain(args, spe: int, epochs: int, clock: EpochClock) -> float:
    keras.utils.set_random_seed(args.seed)  # as train does, before the data and the model
    splits = load_sample("mnist", seed=args.seed)
    model = create_model("lenet5", num_classes=10)

    def batches(split, training):
        return pipeline(
            tuple(split), model, training=training, batch_size=args.batch_size,
            input_range=(0, 1), seed=args.seed,
        )  # fmt: skip

    validation = batches(splits.validation, False)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        steps_per_execution=spe,
    )
    if args.plain_input == "pipeline":
        data, fit_args = {"x": batches(splits.train, True)}, {"shuffle": False}
    else:  # the pipeline's conversion, done once; fit shuffles and batches numpy arrays
        converted = next(iter(batches(splits.train, False).unbatch().batch(TRAIN_IMAGES)))
        data = {"x": np.asarray(converted[0]), "y": np.asarray(converted[1])}
        fit_args = {"shuffle": True, "batch_size": args.batch_size}
    model.fit(
        **data, validation_data=validation, epochs=epochs, callbacks=[clock], verbose=0,
        **fit_args,
    )  # fmt: skip
    return time.perf_counter()


def measure(side: str, args, spe: int, epochs: int) -> Run:
    clock = EpochClock()
    start = time.perf_counter()
    end = (run_train if side == "train" else run_plain)(args, spe, epochs, clock)
    ends = clock.epoch_ends()
    seconds = [b - a for a, b in zip(clock.starts, ends, strict=True)]
    later = seconds[1:] or seconds
    reached = next(
        (
            (ends[i] - start, i + 1)
            for i, accuracy in enumerate(clock.val_accuracy)
            if accuracy >= args.target
        ),
        None,
    )
    # The first epoch with the best accuracy: highest accuracy, then lowest epoch.
    best = max((accuracy, -i) for i, accuracy in enumerate(clock.val_accuracy))
    return Run(
        side=side,
        images_per_second=TRAIN_IMAGES / statistics.median(later),
        first_epoch=seconds[0],
        reached=reached,
        final_val_accuracy=clock.val_accuracy[-1],
        best_val_accuracy=(best[0], 1 - best[1]),
        total=end - start,
    )


SIDES = {"train": "cnnzoo.train", "plain": "plain model.fit"}


def part_ab(args) -> None:
    runs: dict[str, list[Run]] = {"train": [], "plain": []}
    for repeat in range(args.repeats):
        order = ["train", "plain"] if repeat % 2 == 0 else ["plain", "train"]
        for side in order:
            runs[side].append(measure(side, args, 1, args.epochs))
    print(
        f"\n(a, b) {args.epochs} epochs, batch {args.batch_size}, Adam {args.learning_rate:g}, "
        f"steps_per_execution 1, plain input: {args.plain_input}; {args.repeats} repeat(s)"
    )
    print(
        f"{'side':17s} {'img/s':>7s} {'1st epoch s':>12s} "
        f"{f'time to {args.target:.0%} val acc':>26s} {'best val acc':>19s} {'final':>7s} "
        f"{'total s':>8s}"
    )
    for side, label in SIDES.items():
        for run in runs[side]:
            reached = (
                f"{run.reached[0]:.1f} s (epoch {run.reached[1]})"
                if run.reached
                else f"not reached in {args.epochs} epochs"
            )
            best = f"{run.best_val_accuracy[0]:.4f} (epoch {run.best_val_accuracy[1]})"
            print(
                f"{label:17s} {run.images_per_second:7.0f} {run.first_epoch:12.1f} "
                f"{reached:>26s} {best:>19s} {run.final_val_accuracy:7.4f} {run.total:8.1f}"
            )
    ratio = statistics.median(r.images_per_second for r in runs["train"]) / statistics.median(
        r.images_per_second for r in runs["plain"]
    )
    print(f"{'ratio train/plain (img/s, medians)':42s} {ratio:.3f}")


def part_c(args, values: list[int]) -> None:
    values = list(dict.fromkeys(values))
    rates: dict[tuple[int, str], list[float]] = {}
    for round_index in range(args.spe_rounds):  # the values forward, then backward, ...
        for index, spe in enumerate(values if round_index % 2 == 0 else values[::-1]):
            order = ["train", "plain"] if (index + round_index) % 2 == 0 else ["plain", "train"]
            for side in order:
                run = measure(side, args, spe, args.spe_epochs)
                rates.setdefault((spe, side), []).append(run.images_per_second)
    print(
        f"\n(c) steps_per_execution, {args.spe_epochs} epochs each (first excluded), "
        f"batch {args.batch_size}, {args.spe_rounds} round(s) (medians)"
    )
    print(
        f"{'steps_per_execution':>19s} {'train img/s':>12s} {'plain img/s':>12s} "
        f"{'train/plain':>12s} {f'train vs {values[0]}':>14s} {f'plain vs {values[0]}':>14s}"
    )
    median = {key: statistics.median(value) for key, value in rates.items()}
    for spe in values:
        zoo, plain = median[spe, "train"], median[spe, "plain"]
        print(
            f"{spe:19d} {zoo:12.0f} {plain:12.0f} {zoo / plain:12.3f} "
            f"{zoo / median[values[0], 'train']:14.3f} {plain / median[values[0], 'plain']:14.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="epochs of (a, b); the cap of b")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--target", type=float, default=0.98, help="validation accuracy of b")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="runs of (a, b) per side")
    parser.add_argument("--plain-input", choices=("pipeline", "numpy"), default="pipeline")
    parser.add_argument(
        "--steps-per-execution", default="1,4,16", help="values for (c); '' skips (c)"
    )
    parser.add_argument("--spe-epochs", type=int, default=3, help="epochs per run of (c)")
    parser.add_argument(
        "--spe-rounds", type=int, default=1, help="passes over the values of (c), alternating"
    )
    parser.add_argument("--skip-ab", action="store_true", help="run (c) only")
    args = parser.parse_args()
    if args.epochs < 2 or args.spe_epochs < 2:
        parser.error("--epochs and --spe-epochs must be >= 2 (the first epoch is not timed)")
    values = [int(value) for value in args.steps_per_execution.split(",") if value.strip()]
    if not args.skip_ab:
        part_ab(args)
    if values:
        part_c(args, values)


if __name__ == "__main__":
    main()
