"""
Title: Fine-tuning a cnnzoo model on a folder of your own images
Author: cnnzoo
Date created: 2026/11/22
Last modified: 2026/11/22
Description: Read a class-per-subfolder image tree, swap the head, fine-tune in two phases.

Run: `python recipes/finetune_folder.py --data DIR --weights MODEL.keras|imagenet
[--model NAME] [--image-size N] [--out DIR] [--quick]`. With no `--data` the recipe
writes a small folder of digits from the bundled MNIST sample and, with no `--weights`,
pretrains the backbone on other digits first, so it runs offline as it is.
"""

"""
## Your images

`cnnzoo.data.from_folder` reads `DIR/<class name>/<image>` files, checks every file
first (and reports the bad ones by path), splits off a stratified validation set, and
writes the class map (`class_indices.json`) and its report into the run folder.
`cnnzoo.data.pipeline` then resizes, converts channels, batches and augments for the
model at hand.
"""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from cnnzoo import create_model
from cnnzoo.data import from_folder, load_sample, pipeline
from cnnzoo.transfer import fine_tune, replace_head


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


def pretrained_model(args) -> keras.Model:
    if args.weights == "imagenet":
        return create_model(args.model, weights="imagenet", **_input(args, channels=3))
    if args.weights is not None:
        return keras.saving.load_model(args.weights)
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
## Two-phase fine-tuning

`replace_head` cuts the model at its last stage output and attaches a fresh classifier
for your classes; `fine_tune` trains that head on the frozen backbone, then unfreezes
the last two stages at a tenth of the learning rate (batch norm kept in inference
mode), with early stopping in each phase.
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--data", type=Path, help="a folder of class subfolders")
    parser.add_argument("--weights", help="a .keras model to start from, or 'imagenet'")
    parser.add_argument("--model", default="resnet20", help="a registered model name")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10, help="most epochs per phase")
    parser.add_argument("--out", type=Path, default=Path("runs/finetune_folder"))
    parser.add_argument("--quick", action="store_true", help="a run of well under a minute")
    args = parser.parse_args(argv)
    if args.data is not None and args.weights is None:
        parser.error("--data needs --weights: a .keras model you trained, or 'imagenet'")
    keras.utils.set_random_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    folder = args.data or write_sample_folder(
        args.out / "images", per_class=12 if args.quick else 30
    )

    model = pretrained_model(args)
    data = from_folder(folder, validation_split=0.25, seed=0, report_dir=args.out, verbose=True)
    model = replace_head(model, len(data.class_names), dropout=0.2)
    train = pipeline(data.train, model, training=True, seed=0)
    validation = pipeline(data.validation, model, training=False)
    epochs = 2 if args.quick else args.epochs
    result = fine_tune(model, train, validation, phases=[{"epochs": epochs}, {"epochs": epochs}])
    for number, summary in enumerate(result.summaries, start=1):
        print(f"Phase {number}: {summary}")

    model.save(args.out / "model.keras")
    (args.out / "history.json").write_text(json.dumps({**result.history, "phase": result.phase}))
    accuracy = model.evaluate(validation, verbose=0, return_dict=True)["accuracy"]
    print(f"Validation accuracy: {accuracy:.3f} over classes {list(data.class_names)}")
    print(f"Model, class map and history written to {args.out}")
    return {"validation_accuracy": accuracy, "class_names": list(data.class_names)}


if __name__ == "__main__":
    main()
