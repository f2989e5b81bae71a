"""Does ``train(cache=...)`` pay for image folders? LeNet-5 trained by ``cnnzoo.train`` on a
folder of PNG digits written from the bundled sample, with the decoded images cached in
memory after the first epoch (``cache=True``, what ``"auto"`` picks for a folder that
fits in 1 GiB) against decoding every file every epoch (``cache=False``), in one run.

Printed: the median time of epochs 2 to ``--epochs`` (the first fills the cache) for
each side, in the order ``--order`` gives, and the ratio uncached/cached.

    .venv/bin/python benchmarks/bench_cache.py [--images 3000] [--epochs 4] [--rounds 2]
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

from cnnzoo.data import load_sample
from cnnzoo.training import train


class EpochClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def write_folder(root: Path, count: int) -> Path:
    train_split = load_sample("mnist").train
    for i in range(count):
        folder = root / str(int(train_split.labels[i]))
        folder.mkdir(parents=True, exist_ok=True)
        image = (train_split.images[i] * 255).astype("uint8")
        keras.utils.save_img(folder / f"{i:05d}.png", image, scale=False)
    return root


def epoch_time(folder: Path, cache: bool, epochs: int, out: Path) -> float:
    clock = EpochClock()
    train(
        "lenet5", folder, out=out, epochs=epochs, patience=None, cache=cache,
        callbacks=[clock], verbose=0,
    )  # fmt: skip
    return statistics.median(clock.times[1:])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="passes, the order swapped")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = write_folder(Path(temp) / "images", args.images)
        times: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(args.rounds):
            for cache in (True, False) if round_ % 2 == 0 else (False, True):
                out = Path(temp) / f"run-{cache}-{round_}"
                times[cache].append(epoch_time(folder, cache, args.epochs, out))
    cached, uncached = (statistics.median(times[side]) for side in (True, False))
    print(f"{args.images} PNG images, LeNet-5, median epoch after the first ({args.rounds} rounds)")
    print(f"cache=True   {cached:6.2f} s")
    print(f"cache=False  {uncached:6.2f} s")
    print(f"uncached/cached {uncached / cached:.2f}")


if __name__ == "__main__":
    main()
