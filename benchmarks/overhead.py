"""Does cnnzoo cost anything over plain Keras? Training throughput, measured in one run.

Each cnnzoo model is timed against a hand-written (LeNet-5) or keras.applications (VGG16,
ResNet50) twin with the same layers, on the same data, in the same process; the script prints images
per second for both and the ratio (1.00 means no overhead; above 1 is faster).

    .venv/bin/python benchmarks/overhead.py [--repeats 3] [--only ResNet]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from cnnzoo import lenet5, resnet50, vgg16
from cnnzoo.data import load_sample


def plain_lenet5() -> keras.Model:
    """LeNet-5 (modern) written out with keras.layers, as a tutorial would."""
    layers = keras.layers
    inputs = keras.Input((28, 28, 1))
    x = layers.ZeroPadding2D(2)(inputs)
    x = layers.MaxPooling2D()(layers.Conv2D(6, 5, activation="relu")(x))
    x = layers.MaxPooling2D()(layers.Conv2D(16, 5, activation="relu")(x))
    x = layers.Flatten()(layers.Conv2D(120, 5, activation="relu")(x))
    x = layers.Dense(84, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def zoo_lenet5() -> keras.Model:
    return lenet5(variant="modern", input_shape=(28, 28, 1), padding=(2, "valid", "valid"))


def plain_vgg16() -> keras.Model:
    backbone = keras.applications.VGG16(
        weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )
    return keras.Model(
        backbone.input, keras.layers.Dense(10, activation="softmax")(backbone.output)
    )


def zoo_vgg16() -> keras.Model:
    return vgg16(input_shape=(32, 32, 3), num_classes=10, pooling="avg", fc_units=())


def plain_resnet50() -> keras.Model:
    return keras.applications.ResNet50(
        weights=None, input_shape=(64, 64, 3), classes=10, classifier_activation="softmax"
    )


def zoo_resnet50() -> keras.Model:
    # keras.applications' layout: convolution biases, stride on the first 1x1.
    return resnet50(variant="v1", input_shape=(64, 64, 3), num_classes=10)


def images_per_second(build, x, y, *, batch_size: int, epochs: int) -> float:
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return epochs * len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per model (best kept)")
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    args = parser.parse_args()
    digits = load_sample("mnist").train
    rng = np.random.default_rng(0)
    colour = rng.uniform(size=(256, 32, 32, 3)).astype("float32")
    cases = [
        ("LeNet-5 (modern), MNIST 28x28, batch 32", plain_lenet5, zoo_lenet5, *digits, 32, 3),
        (
            "VGG16 trunk, 32x32, batch 16",
            plain_vgg16,
            zoo_vgg16,
            colour,
            rng.integers(0, 10, len(colour)),
            16,
            2,
        ),
        (
            "ResNet50 (v1), 64x64, batch 16",
            plain_resnet50,
            zoo_resnet50,
            colour[:128, :, :, :].repeat(2, axis=1).repeat(2, axis=2),
            rng.integers(0, 10, 128),
            16,
            2,
        ),
    ]
    print(f"{'model':45s} {'plain img/s':>12s} {'cnnzoo img/s':>13s} {'ratio':>7s}")
    for label, plain, zoo, x, y, batch, epochs in cases:
        if args.only not in label:
            continue
        # Interleave the two so that machine noise hits both alike; keep each one's best.
        plain_best = zoo_best = 0.0
        for _ in range(args.repeats):
            plain_best = max(
                plain_best, images_per_second(plain, x, y, batch_size=batch, epochs=epochs)
            )
            zoo_best = max(zoo_best, images_per_second(zoo, x, y, batch_size=batch, epochs=epochs))
        print(f"{label:45s} {plain_best:12.0f} {zoo_best:13.0f} {zoo_best / plain_best:7.2f}")


if __name__ == "__main__":
    main()
