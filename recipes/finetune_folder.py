"""
Title: Fine-tuning a cnnzoo model on a folder of your own images
Author: cnnzoo
Date created: 2026/11/22
Last modified: 2026/11/22
Description: Read a class-per-subfolder image tree, swap the head, fine-tune in two phases.

Run: `python recipes/finetune_folder.py --data DIR --weights MODEL.keras|imagenet
[--model NAME] [--image-size N] [--out DIR] [--quick]`, or the same from the shell:
`cnnzoo finetune NAME --weights FILE --data DIR`. With no `--data` the recipe
writes a small folder of digits from the bundled MNIST sample and, with no `--weights`,
pretrains the backbone on other digits first, so it runs offline as it is.
"""

"""
## Your images

A run reads `DIR/<class name>/<image>` files with `cnnzoo.data.from_folder`, which
checks every file first (and reports the bad ones by path), splits off a stratified
validation set, and writes the class map (`class_indices.json`) and its report into the
run folder. `cnnzoo.data.pipeline` then resizes, converts channels and batches for the
model at hand.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from cnnzoo import create_model
from cnnzoo.data import load_sample, pipeline
from cnnzoo.training import finetune


def write_sample_folder(root: Path, digits=range(5, 10), per_class: int = 30) -> Path:
    """A folder of PNG digits from the bundled sample, named as a user's would be."""
    names = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    train = load_sample("mnist").train
    for digit in digits:
        (root / names[digit]).mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(np.flatnonzero(train.labels == digit)[:per_class]):
            image = (train.images[index] * 255).astype("uint8")
            keras.utils.save_img(root / names[digit] / f"{i:03d}.png", image, scale=False)
    return root


"""
## A pretrained backbone

Fine-tuning starts from weights learned on a related task: a `.keras` model you trained
before (any cnnzoo model, any head), or keras.applications' ImageNet weights for the
models that match them (`vgg16`, `resnet50` with `variant="v1"`, `inception_v3`, ...),
read from the Keras cache folder. When the recipe makes its own folder and none is
given, it pretrains the chosen model on digits 0-4 for a stand-in.
"""


def pretrain_stand_in(args) -> keras.Model:
    print(f"No --weights: pretraining {args.model} on digits 0-4 of the bundled sample.")
    model = create_model(args.model, num_classes=5, **_input(args, channels=1))
    train = load_sample("mnist").train
    keep = np.flatnonzero(train.labels < 5)[: 500 if args.quick else None]
    data = pipeline((train.images[keep], train.labels[keep]), model, input_range=(0, 1), seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data, epochs=1 if args.quick else 5, verbose=2)
    return model


def _input(args, channels: int) -> dict:
    return {"input_shape": (args.image_size, args.image_size, channels)}


"""
## Two-phase fine-tuning, as a run

`cnnzoo.training.finetune` (what `cnnzoo finetune` runs) builds the model without its
head, loads the weights into it, puts on a fresh classifier for your classes and runs
`cnnzoo.transfer.fine_tune`: the head alone on the frozen backbone, then the last two
stages too at a tenth of the learning rate (batch norm kept in inference mode), with
early stopping in each phase. It writes a run folder like `cnnzoo train` does (the best
model, `history.csv` with a `phase` column, `curves.png`, the class map and data report),
and a run killed midway continues with `resume=True`.
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--data", type=Path, help="a folder of class subfolders")
    parser.add_argument("--weights", help="a .keras model to start from, or 'imagenet'")
    parser.add_argument("--model", default="resnet20", help="a registered model name")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10, help="most epochs per phase")
    parser.add_argument("--out", type=Path, help="run folder (default runs/finetune_folder-TIME)")
    parser.add_argument("--quick", action="store_true", help="a run of well under a minute")
    args = parser.parse_args(argv)
    if args.data is not None and args.weights is None:
        parser.error("--data needs --weights: a .keras model you trained, or 'imagenet'")
    keras.utils.set_random_seed(0)
    out = args.out or Path(f"runs/finetune_folder-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    folder = args.data or write_sample_folder(out / "images", per_class=12 if args.quick else 30)
    weights = args.weights
    if weights is None:
        weights = out / "pretrained.keras"
        pretrain_stand_in(args).save(weights)

    channels = 3 if weights == "imagenet" else keras.saving.load_model(weights).input_shape[-1]
    epochs = 2 if args.quick else args.epochs
    result = finetune(
        args.model, folder, weights=weights, out=out, verbose=2,
        model_kwargs=_input(args, channels), phases=[{"epochs": epochs}, {"epochs": epochs}],
    )  # fmt: skip
    print((out / "weights_report.txt").read_text().strip())
    config = json.loads((out / "config.json").read_text())
    for number, phase in enumerate(config["phases"], start=1):
        trained = "the head" + (
            f" and the last {phase['trainable_stages']} stages" if phase["trainable_stages"] else ""
        )
        epochs_run = result.history["phase"].count(number)
        print(f"Phase {number}: {epochs_run} epochs of {trained} at {phase['learning_rate']:g}")
    indices = json.loads((out / "class_indices.json").read_text())
    class_names = sorted(indices, key=indices.get)
    accuracy = result.metrics["validation_accuracy"]
    print(f"Validation accuracy: {accuracy:.3f} over classes {class_names}")
    print(f"Run folder (model, class map, history, curves): {out}")
    return {"validation_accuracy": accuracy, "class_names": class_names}


if __name__ == "__main__":
    main()
