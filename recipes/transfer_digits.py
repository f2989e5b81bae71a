"""
Title: Transfer learning on digits: scratch vs frozen backbone vs two-phase fine-tuning
Author: cnnzoo
Date created: 2026/11/22
Last modified: 2026/11/22
Description: Pretrain ResNet-20 on digits 0-4, then learn digits 5-9 from 20 images each.

Run: `python recipes/transfer_digits.py [--quick] [--out DIR]`
"""

"""
## Why transfer?

The course notes' advice: with little data, reuse a network trained on a related task;
freeze its backbone and train only a new classifier, and with a bit more data unfreeze
the top of the backbone too. Here the related task is digits 0-4 and the new task is
digits 5-9, from only 20 training images per class (the bundled MNIST sample, so this
runs offline). Three ways to learn the new task are compared on the same held-out test
images:

1. **scratch**: the same network, randomly initialized, trained on the 100 images;
2. **frozen**: the pretrained backbone frozen, a fresh head trained on top;
3. **two-phase**: the frozen phase, then the last two stages unfrozen at a tenth of the
   learning rate (the shape of `cnnzoo.transfer.fit_in_phases`' default recipe).

Each run gets the same epoch budget and early stopping on the same validation images.
"""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from cnnzoo import resnet20
from cnnzoo.data import load_sample
from cnnzoo.transfer import Phase, fit_in_phases, replace_head

"""
## The data

`load_sample` splits the 5,000 bundled digits into train, validation and test. The
source task takes every training image of digits 0-4; the target task takes the first
`per_class` training images of each digit 5-9 (relabelled 0-4), validates on the
validation split and reports accuracy on the test split.
"""


def split_tasks(per_class: int, seed: int = 0):
    splits = load_sample("mnist", seed=seed)

    def digits(split, wanted, limit=None):
        keep = np.concatenate(
            [np.flatnonzero(split.labels == d)[:limit] for d in wanted]
        )  # fmt: skip
        return split.images[keep], split.labels[keep] - min(wanted)

    source = digits(splits.train, range(5))
    target = {
        "train": digits(splits.train, range(5, 10), per_class),
        "validation": digits(splits.validation, range(5, 10)),
        "test": digits(splits.test, range(5, 10)),
    }
    return source, target


"""
## The network

ResNet-20, the CIFAR-style residual network (three stages of basic blocks, 0.27M
parameters), on 28x28 gray digits. With 100 images from scratch it has far more
capacity than data; pretrained on the source task, its stages already detect strokes
and loops. The same factory builds the network for both tasks; only the head differs.
"""


def digit_net() -> keras.Model:
    return resnet20(input_shape=(28, 28, 1), num_classes=5)


def accuracy(model, data) -> float:
    predictions = model.predict(data[0], verbose=0).argmax(axis=-1)
    return float(np.mean(predictions == data[1]))


"""
## Pretraining on digits 0-4

An ordinary `fit`; the model is saved to a `.keras` file, which the transfer runs reload,
as one would with a model trained earlier.
"""


def pretrain(source, out: Path, epochs: int) -> Path:
    model = digit_net()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*source, batch_size=64, epochs=epochs, verbose=2)
    path = out / "pretrained_0_4.keras"
    model.save(path)
    return path


"""
## The three ways to learn digits 5-9

Scratch trains everything with early stopping. The transfer runs reload the pretrained
model, swap its head for a fresh 5-way one (`replace_head`), and call `fit_in_phases`: one
phase with the backbone frozen, or the default two phases.
"""


PATIENCE = 8  # early stopping on the validation loss, the same for every run


def from_scratch(target, epochs: int) -> keras.Model:
    model = digit_net()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)
    model.fit(
        *target["train"],
        validation_data=target["validation"],
        batch_size=20,
        epochs=epochs,
        callbacks=[stop],
        verbose=0,
    )
    return model


def transferred(pretrained: Path, target, phases) -> keras.Model:
    model = replace_head(keras.saving.load_model(pretrained), 5)
    result = fit_in_phases(
        model, target["train"], target["validation"], phases=phases, batch_size=20, verbose=0
    )
    for number, summary in enumerate(result.summaries, start=1):
        print(f"  phase {number}: {summary}")
    return model


"""
## Run it
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--quick", action="store_true", help="a run of well under a minute")
    parser.add_argument("--out", type=Path, default=Path("runs/transfer_digits"))
    parser.add_argument("--per-class", type=int, default=20, help="target images per digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    pretrain_epochs, epochs = (1, 6) if args.quick else (6, 40)

    source, target = split_tasks(args.per_class, args.seed)
    print(f"Pretraining on {len(source[1])} images of digits 0-4 ...")
    pretrained = pretrain(source, args.out, pretrain_epochs)
    print(f"Learning digits 5-9 from {len(target['train'][1])} images ...")
    head_phase = Phase(epochs=epochs, learning_rate=3e-3, patience=PATIENCE)
    models = {
        "scratch": from_scratch(target, epochs),
        "frozen": transferred(pretrained, target, [head_phase]),
        "two-phase": transferred(
            pretrained,
            target,
            [head_phase, Phase(epochs, learning_rate=3e-4, trainable_stages=2, patience=PATIENCE)],
        ),
    }
    results = {name: accuracy(model, target["test"]) for name, model in models.items()}
    print(f"\nTest accuracy on {len(target['test'][1])} images of digits 5-9:")
    for name, value in results.items():
        print(f"  {name:<10} {value:.3f}")
    report = {"test_accuracy": results, "train_images": len(target["train"][1]),
              "quick": args.quick, "seed": args.seed}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    print(f"Results written to {args.out / 'results.json'}")
    return report


if __name__ == "__main__":
    main()
