"""How often LeNet-5 fails to learn from [0, 255] pixels against [0, 1], per seed.

Plain Keras ``fit`` on the bundled digits (3,600 training images, batch 32, Adam at
1e-3), LeNet-5 ``variant="modern"`` with and without ``norm="batch"``, one model per seed
and setting, on the backend ``KERAS_BACKEND`` names. Printed per setting: the test
accuracy of every seed, its range, and the seeds that stayed near chance (below 0.5).

    for b in tensorflow jax torch; do
        KERAS_BACKEND=$b .venv/bin/python benchmarks/bench_pixel_scale.py [--seeds 12]
    done
"""

from __future__ import annotations

import argparse

import keras

from cnnzoo import lenet5
from cnnzoo.data import load_sample

FAILED = 0.5  # a test accuracy below this is a run that did not learn (chance is 0.1)


def accuracies(scale: float, norm: str | None, seeds: int, epochs: int) -> list[float]:
    splits = load_sample("mnist")  # images in [0, 1]
    train, test = splits.train, splits.test
    results = []
    for seed in range(seeds):
        keras.utils.set_random_seed(seed)
        model = lenet5(num_classes=10, input_shape=(28, 28, 1), variant="modern", norm=norm)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(train.images * scale, train.labels, batch_size=32, epochs=epochs, verbose=0)
        results.append(model.evaluate(test.images * scale, test.labels, verbose=0)[1])
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"{keras.backend.backend()}: LeNet-5 (modern), {args.epochs} epoch(s), "
          f"seeds 0-{args.seeds - 1}, test accuracy")  # fmt: skip
    for scale, norm in ((255.0, None), (1.0, None), (255.0, "batch")):
        values = accuracies(scale, norm, args.seeds, args.epochs)
        failed = [seed for seed, value in enumerate(values) if value < FAILED]
        pixels = "[0, 255]" if scale == 255 else "[0, 1]"
        setting = f"{pixels}{', norm=batch' if norm else ''}"
        print(f"  {setting}: {min(values):.3f}-{max(values):.3f}, failed seeds {failed or 'none'}:"
              f" {' '.join(f'{value:.3f}' for value in values)}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
