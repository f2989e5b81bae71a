"""Does ``train()`` run at the speed of the framework? One run, every backend installed.

For each Keras backend (a fresh process each, ``KERAS_BACKEND`` set) and each model
(LeNet-5, modern variant, and the CIFAR ResNet-20, both on 28x28x1), the same work is done
twice: ``cnnzoo.training.train`` on the bundled MNIST sample (3,600 training images,
validated every epoch on its 400 validation images) and a plain ``model.fit`` on that
sample as numpy arrays (scaled to [0, 255] as ``train`` scales them), with the same model
from the same seed, Adam at 1e-3, batch 32, sparse cross-entropy with accuracy, the
``steps_per_execution`` and ``jit_compile`` that ``train`` chose (read back from the
``"runtime"`` of its ``config.json``) and no progress bar on either side. ``train`` does
all its usual work (run folder, backup and best weights after every epoch, TensorBoard
logs, ``history.csv``, the NaN check), and early stopping is off (``patience=None``).

One timing callback is given to both: an epoch lasts from its ``on_epoch_begin`` to the
next one's (the last to ``on_train_end``), so it holds the training steps, the validation
and every callback's end-of-epoch work. Images per second are 3,600 over the median epoch,
the first (tracing) excluded. The sides alternate which goes first in each repeat; the
ratio printed is the median of the per-repeat ratios ``train/fit`` (1.00: no overhead).

``finetune()`` is measured the same way (``--finetune lenet5``, the default): one phase
training the whole network from untrained weights (a ``.keras`` file), patience off,
against a plain ``fit`` of a copy of the model it fine-tuned (same layers and head),
compiled as its phase is (Adam at 1e-3, the same steps per call and XLA setting).

Last, a plain PyTorch loop trains the same LeNet-5 (same layers, 61,706 parameters) on the
same arrays, batch 32, Adam at 1e-3, validating every epoch; each backend's ``train()`` is
given as a ratio to it. Skipped with a note when PyTorch is not installed.

    .venv/bin/python benchmarks/bench_speed.py [--backends tensorflow,jax,torch]
        [--models lenet5,resnet20] [--finetune lenet5] [--epochs 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = {
    "lenet5": {"variant": "modern", "input_shape": (28, 28, 1), "padding": (2, "valid", "valid")},
    "resnet20": {"input_shape": (28, 28, 1)},
}
BATCH = 32
RATE = 1e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--models", default="lenet5,resnet20")
    parser.add_argument("--finetune", default="lenet5", help="'': no finetune() row")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = [name for name in args.models.split(",") if name]
    if args.worker == "torch-loop":
        print(json.dumps(torch_loop(args.epochs, args.repeats)))
        return
    if args.worker:
        print(json.dumps(keras_worker(models, args.finetune, args.epochs, args.repeats)))
        return
    results = {}
    for backend in args.backends.split(","):
        if backend != "tensorflow" and importlib.util.find_spec(backend) is None:
            print(f"{backend}: not installed, skipped")
            continue
        results[backend] = run_worker(backend, args)
    print(f"\ntrain() against plain model.fit, {args.epochs} epochs, {args.repeats} repeats "
          "(images per second, median epoch after the first)")  # fmt: skip
    print(f"{'backend':<11}{'model':<20}{'cnnzoo':>8}{'fit':>8}{'ratio':>7}  chosen")
    for backend, rows in results.items():
        for model, row in rows.items():
            print(
                f"{backend:<11}{model:<20}{row['train']:>8.0f}{row['fit']:>8.0f}"
                f"{row['ratio']:>7.2f}  steps_per_execution={row['steps_per_execution']}, "
                f"jit_compile={row['jit_compile']}"
            )
    if importlib.util.find_spec("torch") is None:
        print("\nPyTorch not installed: the comparison with a plain PyTorch loop is skipped.")
        return
    loop = run_worker("torch-loop", args)
    print(f"\nPlain PyTorch loop, LeNet-5: {loop['images_per_second']:.0f} images/s")
    for backend, rows in results.items():
        if "lenet5" in rows:
            ratio = rows["lenet5"]["train"] / loop["images_per_second"]
            print(f"  train() on {backend} / PyTorch loop: {ratio:.2f}")


def run_worker(name: str, args) -> dict:
    """Runs this script as a worker (a backend, or the PyTorch loop) and reads its JSON."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if name != "torch-loop":
        env["KERAS_BACKEND"] = name
    command = [sys.executable, __file__, "--worker", name, "--models", args.models,
               "--epochs", str(args.epochs), "--repeats", str(args.repeats),
               "--finetune", args.finetune]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def keras_worker(models: list[str], finetuned: str, epochs: int, repeats: int) -> dict:
    import keras

    from cnnzoo import create_model
    from cnnzoo.data import load_sample
    from cnnzoo.training import finetune, train

    splits = load_sample("mnist", seed=0)
    x, y = splits.train.images * 255, splits.train.labels
    validation = (splits.validation.images * 255, splits.validation.labels)

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.marks = []

        def on_epoch_begin(self, epoch, logs=None):
            self.marks.append(time.perf_counter())

        def on_train_end(self, logs=None):
            self.marks.append(time.perf_counter())

        def speed(self) -> float:
            epochs = [b - a for a, b in itertools.pairwise(self.marks)][1:]
            return len(x) / statistics.median(epochs)

    def with_train(name):
        clock = Clock()
        out = tempfile.mkdtemp()
        train(name, "mnist-sample", out=out, epochs=epochs, batch_size=BATCH, patience=None,
              learning_rate=RATE, verbose=0, callbacks=[clock],
              model_kwargs=MODELS[name])  # fmt: skip
        with open(os.path.join(out, "config.json")) as file:
            return clock.speed(), json.load(file)["runtime"]

    def plain_fit(model, runtime):
        model.compile(
            optimizer=keras.optimizers.Adam(RATE), loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=runtime["steps_per_execution"], jit_compile=runtime["jit_compile"],
        )  # fmt: skip
        clock = Clock()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, validation_data=validation,
                  verbose=0, callbacks=[clock])  # fmt: skip
        return clock.speed()

    def with_fit(name, runtime):
        keras.utils.set_random_seed(0)
        return plain_fit(create_model(name, num_classes=10, **MODELS[name]), runtime)

    def with_finetune(name):
        clock, start = Clock(), os.path.join(tempfile.mkdtemp(), "start.keras")
        create_model(name, num_classes=10, **MODELS[name]).save(start)  # untrained weights
        result = finetune(
            name, "mnist-sample", weights=start, out=tempfile.mkdtemp(), batch_size=BATCH,
            verbose=0,
            phases=[{"epochs": epochs, "patience": None, "trainable_stages": None}],
            callbacks=[clock], model_kwargs=MODELS[name],
        )  # fmt: skip
        tuned = result.model
        runtime = {"steps_per_execution": tuned.steps_per_execution,
                   "jit_compile": tuned.jit_compile}  # fmt: skip
        return clock.speed(), runtime, tuned

    def row(pairs, runtime):
        """``pairs``: (cnnzoo, fit) images per second, one per repeat."""
        return {
            "train": statistics.median(ours for ours, _ in pairs),
            "fit": statistics.median(plain for _, plain in pairs),
            "ratio": statistics.median(ours / plain for ours, plain in pairs),
            "steps_per_execution": runtime["steps_per_execution"],
            "jit_compile": runtime["jit_compile"],
        }

    results = {}
    if finetuned:
        pairs = []
        for _ in range(repeats):  # the plain side copies the model finetune() made
            speed, runtime, tuned = with_finetune(finetuned)
            pairs.append((speed, plain_fit(keras.models.clone_model(tuned), runtime)))
        results[f"{finetuned} (finetune)"] = row(pairs, runtime)
    for name in models:
        pairs = []
        for repeat in range(repeats):
            if repeat % 2 == 0:
                speed, runtime = with_train(name)
                pairs.append((speed, with_fit(name, runtime)))
            else:  # runtime: what train() chose in the first repeat
                plain = with_fit(name, runtime)
                pairs.append((with_train(name)[0], plain))
        results[name] = row(pairs, runtime)
    return results


def torch_loop(epochs: int, repeats: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    from cnnzoo.data import load_sample

    splits = load_sample("mnist", seed=0)
    x = torch.from_numpy(np.moveaxis(splits.train.images * 255, -1, 1).copy())
    y = torch.from_numpy(splits.train.labels.astype("int64"))
    val_x = torch.from_numpy(np.moveaxis(splits.validation.images * 255, -1, 1).copy())
    val_y = torch.from_numpy(splits.validation.labels.astype("int64"))
    speeds = []
    for repeat in range(repeats):
        torch.manual_seed(repeat)
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )  # fmt: skip
        assert sum(p.numel() for p in model.parameters()) == 61_706
        optimizer = torch.optim.Adam(model.parameters(), lr=RATE)
        loss_fn = nn.CrossEntropyLoss()
        marks = []
        for _ in range(epochs):
            marks.append(time.perf_counter())
            model.train()
            for batch in torch.randperm(len(x)).split(BATCH):
                optimizer.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                correct = sum(
                    (model(vx).argmax(1) == vy).sum().item()
                    for vx, vy in zip(val_x.split(BATCH), val_y.split(BATCH), strict=True)
                )
            assert 0 <= correct <= len(val_y)
        marks.append(time.perf_counter())
        epoch_times = [b - a for a, b in itertools.pairwise(marks)][1:]
        speeds.append(len(x) / statistics.median(epoch_times))
    return {"images_per_second": statistics.median(speeds)}


if __name__ == "__main__":
    main()
