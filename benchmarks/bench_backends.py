"""Training-step throughput of cnnzoo models on each Keras backend, measured in one run.

Each backend runs in its own subprocess (Keras fixes the backend at import), one after
the other on the same machine: LeNet-5 at 32x32x1, ResNet-20 at 32x32x3 and VGG16 at
32x32x3 (its default head: 4096-unit FC layers), batch 32, SGD, random images, from the
same seed. Per model: ``model.fit`` on ``--steps`` batches once to compile and warm up,
then the median of ``--repeats`` timed epochs of ``--steps`` steps. Printed: images per
second per backend and the ratio to TensorFlow's. A backend that is not installed is
reported as such.

    .venv/bin/python benchmarks/bench_backends.py [--steps 20] [--repeats 3]
        [--backends tensorflow,jax,torch] [--models lenet5,resnet20,vgg16]

Install the others with ``make test-backends`` (or ``pip install jax torch==2.13.0``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

MEASURE = """
import json, statistics, sys, time
import keras, numpy as np
from cnnzoo import create_model
SHAPES = {"lenet5": (32, 32, 1), "resnet20": (32, 32, 3), "vgg16": (32, 32, 3)}
steps, repeats, batch = int(sys.argv[1]), int(sys.argv[2]), 32
results = {}
for name in sys.argv[3].split(","):
    keras.utils.set_random_seed(0)
    model = create_model(name, input_shape=SHAPES[name], num_classes=10)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (steps * batch, *SHAPES[name])).astype("float32")
    y = rng.integers(0, 10, steps * batch)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        times.append(time.perf_counter() - start)
    results[name] = steps * batch / statistics.median(times)
print("RESULT " + json.dumps(results))
"""


def measure(backend: str, models: str, steps: int, repeats: int) -> dict[str, float] | str:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(steps), str(repeats), models],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed: {last[:100]}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--models", default="lenet5,resnet20,vgg16")
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    models = args.models.split(",")
    results = {
        backend: measure(backend, args.models, args.steps, args.repeats) for backend in backends
    }
    print(f"\nimages/second of training steps, batch 32, median of {args.repeats} epochs of "
          f"{args.steps} steps (ratio to tensorflow)")  # fmt: skip
    print(f"{'model':10s}" + "".join(f"{backend:>22s}" for backend in backends))
    base = results.get("tensorflow")
    for model in models:
        cells = []
        for backend in backends:
            figures = results[backend]
            if isinstance(figures, str):
                cells.append(figures[:22])
                continue
            ratio = f" ({figures[model] / base[model]:.2f})" if isinstance(base, dict) else ""
            cells.append(f"{figures[model]:.0f}{ratio}")
        print(f"{model:10s}" + "".join(f"{cell:>22s}" for cell in cells))


if __name__ == "__main__":
    main()
