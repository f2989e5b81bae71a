"""Are cnnzoo's big models as fast to train as keras.applications'? Training-step throughput
of ``vgg16``, ``resnet50`` (``variant="v1"``, keras.applications' layout) and
``inception_v3`` against ``VGG16``, ``ResNet50`` and ``InceptionV3`` (``weights=None``),
measured in one run; the ratio cnnzoo/keras should be at least 0.97.

Both sides get the same input shape, batch size, class count, compile (SGD, sparse
categorical cross-entropy, Keras' default ``jit_compile``) and the same random batch, as
tensors. After two untimed warm-up steps each (tracing), every round times ``--steps``
calls of ``train_on_batch`` per side, interleaved one step at a time (keras, cnnzoo,
cnnzoo, keras, ...), so that load from other processes hits both sides alike; a side's
images per second in a round is its images over its summed step times, and the median
round counts. The table gives both parameter counts (they must be equal), images per
second, the ratio cnnzoo/keras (the median of the per-round ratios) with the spread of
the per-round ratios, and PASS or BELOW against ``--min-ratio``; the exit status is 0
either way. ``--control`` times a second,
identical keras.applications model in the same interleaving: its ratio to the first (1.00
in theory) shows how much of a difference the machine's noise alone makes.

    .venv/bin/python benchmarks/bench_models.py [--models vgg16,resnet50,inception_v3]
        [--input-size 96] [--batch-size 8] [--steps 5] [--rounds 3] [--control]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import cnnzoo

WARMUP_STEPS = 2


def keras_twin(name: str, shape: tuple, classes: int) -> keras.Model:
    application = {
        "vgg16": keras.applications.VGG16,
        "resnet50": keras.applications.ResNet50,
        "inception_v3": keras.applications.InceptionV3,
    }[name]
    return application(weights=None, input_shape=shape, classes=classes)


def zoo_model(name: str, shape: tuple, classes: int) -> keras.Model:
    # resnet50 as keras.applications builds it: convolution biases, stride on the first 1x1
    # (cnnzoo's default is v1.5, the torchvision layout).
    extra = {"variant": "v1"} if name == "resnet50" else {}
    return cnnzoo.create_model(name, input_shape=shape, num_classes=classes, **extra)


def compiled(build, name: str, shape: tuple, classes: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = build(name, shape, classes)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
    )
    return model


def timed_step(model: keras.Model, x, y) -> float:
    start = time.perf_counter()
    model.train_on_batch(x, y)  # returns numpy values: the step has finished
    return time.perf_counter() - start


def measure(name: str, args) -> tuple[int, int, dict[str, list[float]]]:
    shape = (args.input_size, args.input_size, 3)
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(
        rng.uniform(0, 255, (args.batch_size, *shape)).astype("float32")
    )
    y = keras.ops.convert_to_tensor(rng.integers(0, args.classes, args.batch_size))
    sides = {
        "keras": compiled(keras_twin, name, shape, args.classes),
        "cnnzoo": compiled(zoo_model, name, shape, args.classes),
    }
    if args.control:
        sides["control"] = compiled(keras_twin, name, shape, args.classes)
    for model in sides.values():
        for _ in range(WARMUP_STEPS):
            model.train_on_batch(x, y)
    rates: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        seconds = dict.fromkeys(sides, 0.0)
        for step in range(args.steps):
            order = list(sides) if step % 2 == 0 else list(sides)[::-1]
            for side in order:
                seconds[side] += timed_step(sides[side], x, y)
        for side in sides:
            rates[side].append(args.steps * args.batch_size / seconds[side])
    return sides["keras"].count_params(), sides["cnnzoo"].count_params(), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vgg16,resnet50,inception_v3")
    parser.add_argument(
        "--input-size", type=int, default=96, help="square input side (inception_v3: >= 75)"
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per side and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median kept)")
    parser.add_argument("--min-ratio", type=float, default=0.97)
    parser.add_argument(
        "--control", action="store_true", help="also time a second keras model (noise floor)"
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = set(names) - {"vgg16", "resnet50", "inception_v3"}
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from vgg16,resnet50,inception_v3")
    if "inception_v3" in names and args.input_size < 75:
        parser.error("inception_v3 needs --input-size >= 75")

    print(
        f"input {args.input_size}x{args.input_size}x3, batch {args.batch_size}, "
        f"{args.classes} classes, SGD, {args.steps} interleaved steps x {args.rounds} rounds "
        "per side"
    )
    print(
        f"{'model':13s} {'keras params':>13s} {'cnnzoo params':>14s} {'keras img/s':>12s} "
        f"{'cnnzoo img/s':>13s} {'ratio':>6s} {'round ratios':>13s}  verdict"
    )
    for name in names:
        plain_params, zoo_params, rates = measure(name, args)
        plain, zoo = statistics.median(rates["keras"]), statistics.median(rates["cnnzoo"])
        round_ratios = [a / b for a, b in zip(rates["cnnzoo"], rates["keras"], strict=True)]
        ratio = statistics.median(round_ratios)
        spread = f"{min(round_ratios):.2f}-{max(round_ratios):.2f}"
        verdict = f"PASS (>= {args.min_ratio})" if ratio >= args.min_ratio else "BELOW"
        if verdict == "BELOW":
            verdict += f" (< {args.min_ratio})"
        if plain_params != zoo_params:
            verdict += f"; PARAMETER COUNTS DIFFER by {zoo_params - plain_params:+,}"
        if "control" in rates:
            control = statistics.median(
                a / b for a, b in zip(rates["control"], rates["keras"], strict=True)
            )
            verdict += f"; control keras/keras {control:.3f}"
        print(
            f"{name:13s} {plain_params:13,d} {zoo_params:14,d} {plain:12.1f} {zoo:13.1f} "
            f"{ratio:6.3f} {spread:>13s}  {verdict}"
        )


if __name__ == "__main__":
    main()
