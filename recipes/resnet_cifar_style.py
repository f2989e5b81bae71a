"""
Title: ResNet-20 and ResNet-56 on 32x32 images, trained the way the paper trained them
Author: cnnzoo
Date created: 2026/11/30
Last modified: 2026/11/30
Description: The CIFAR-10 ResNets of He et al. (2015), SGD with momentum and a step schedule.

Run: `python recipes/resnet_cifar_style.py [--quick] [--depths 20 56] [--epochs N]
[--data mnist-sample|tfds:cifar10] [--out DIR]`
"""

"""
## The CIFAR-10 ResNets

Section 4.2 of "Deep Residual Learning for Image Recognition" studies residual networks
on 32x32 images with a plain recipe: a 3x3 convolution with 16 filters, then three
stages of `n` basic blocks (two 3x3 convolutions each) with 16, 32 and 64 filters on
32x32, 16x16 and 8x8 maps, global average pooling and the classifier: `6n + 2` layers.
The shortcuts are identities, and where a stage halves the map and doubles the filters
the shortcut subsamples and pads the new channels with zeros ("option A"): no parameter
is spent on them. The paper's point: with shortcuts, going deeper helps (ResNet-56 beats
ResNet-20) where the plain network of the same depth got worse.

`resnet20()` ... `resnet110()` (and `cifar_resnet(depth)` for any `6n + 2`) build these
networks: `stem="cifar"`, `shortcut="zero_pad"`, 32x32x3 inputs, 0.27M and 0.85M
parameters for depths 20 and 56, as in the paper's Table 6.
"""

import argparse
import json
import time
from pathlib import Path

import keras

from cnnzoo import create_model
from cnnzoo.data import DatasetNotPreparedError, pipeline
from cnnzoo.training import load_run_data
from cnnzoo.viz import learning_curves

"""
## The data

`--data tfds:cifar10` trains on CIFAR-10 itself when it is prepared in your TensorFlow
Datasets folder (cnnzoo never downloads it: `cnnzoo.data.from_tfds` says where it looked
and how to prepare it). Offline, the default is the bundled MNIST sample: 28x28 gray
digits, padded to 32x32 (`resize="pad"`, as LeNet-5's authors padded MNIST) and repeated
to three channels by `cnnzoo.data.pipeline`. `cnnzoo.training.load_run_data` reads
either source and splits it as `cnnzoo train` does.

The paper augments CIFAR-10 with 4-pixel translations (a random crop of the padded
image) and horizontal flips, which the `"standard"` preset includes (with small
rotations and zooms besides); digits get no augmentation here, since a mirrored digit is
not a digit.
"""


def load_splits(source: str, limit: int | None, seed: int):
    data = load_run_data(source, seed=seed, validation_split=0.1)

    def first(split, count):
        if split is None or count is None:
            return split
        if isinstance(split, tuple):  # arrays
            return tuple(array[:count] for array in split)
        return split.take(count)  # a tf.data.Dataset

    test_limit = None if limit is None else limit // 2
    splits = first(data.train, limit), first(data.validation, test_limit)
    return (*splits, first(data.test, test_limit)), data


"""
## The paper's training, in short

SGD with momentum 0.9, weight decay 1e-4 and batches of 128; a learning rate of 0.1,
divided by 10 at 32k and 48k iterations, stopping at 64k (164 epochs of CIFAR-10). The
two divisions come at 50% and 75% of the run, and that shape is kept here for however
many epochs you give (`PiecewiseConstantDecay`). Keras' L2 regularizer adds
`l2 * sum(w**2)` to the loss, whose gradient `2 * l2 * w` is weight decay of `2 * l2`:
hence `l2 = 5e-5` for the paper's 1e-4.

`cnnzoo.training.train` takes its optimizer by name (`optimizer="sgd"`, without
momentum), so this recipe compiles the model itself; everything else is the library's:
the factory, the input pipeline, the learning curves.
"""


def paper_optimizer(steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    total = steps_per_epoch * epochs
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [total // 2, 3 * total // 4], [0.1, 0.01, 0.001]
    )
    return keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)


def train_depth(depth: int, splits, data, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    model = create_model(
        f"resnet{depth}", num_classes=len(data.class_names), input_shape=(32, 32, 3),
        kernel_regularizer=("l2", 5e-5),
    )  # fmt: skip
    train, validation, test = splits
    options = dict(input_range=data.input_range, resize="pad", batch_size=args.batch_size)
    augment = "standard" if args.data.startswith("tfds:") else None
    train_batches = pipeline(train, model, augment=augment, seed=args.seed, **options)
    steps = int(train_batches.cardinality())
    if steps < 0:  # a dataset of unknown length: count its batches once
        steps = int(train_batches.reduce(0, lambda count, _: count + 1))
    model.compile(
        paper_optimizer(steps, args.epochs), "sparse_categorical_crossentropy",
        metrics=["accuracy"], jit_compile=False if args.quick else "auto",
    )  # fmt: skip
    start = time.time()
    history = model.fit(
        train_batches,
        validation_data=pipeline(validation, model, training=False, **options),
        epochs=args.epochs,
        verbose=2,
    )
    seconds = time.time() - start
    learning_curves(history, args.out / f"resnet{depth}_curves.png", title=f"ResNet-{depth}")
    model.save(args.out / f"resnet{depth}.keras")
    evaluated = test if test is not None else validation
    scores = model.evaluate(pipeline(evaluated, model, training=False, **options), verbose=0)
    return {
        "parameters": model.count_params(),
        "test_accuracy": float(scores[1]),
        "validation_accuracy": float(history.history["val_accuracy"][-1]),
        "epochs": args.epochs,
        "steps": steps * args.epochs,
        "seconds": round(seconds, 1),
        "trained": True,
    }


"""
## Run it

The quick run trains ResNet-20 only, on 768 digits for two epochs: tracing the 56-layer
graph alone takes longer than a minute on a 2-core CPU. It still builds ResNet-56 to
count its parameters; `--quick --depths 20 56` trains both.
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--quick", action="store_true", help="a run of about a minute")
    parser.add_argument("--depths", type=int, nargs="+", help="6n + 2 depths (20 56; quick 20)")
    parser.add_argument("--data", default="mnist-sample", help="mnist-sample or tfds:cifar10")
    parser.add_argument("--epochs", type=int, help="epochs per depth (10; quick 2)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("runs/resnet_cifar_style"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    depths = args.depths or ([20] if args.quick else [20, 56])
    args.epochs = args.epochs or (2 if args.quick else 10)
    if args.quick:
        args.batch_size = min(args.batch_size, 64)
    args.out.mkdir(parents=True, exist_ok=True)

    try:
        splits, data = load_splits(args.data, 768 if args.quick else None, args.seed)
    except DatasetNotPreparedError as error:  # cnnzoo never downloads
        parser.exit(1, f"{error}\n")
    print(f"Data: {data.description}, {len(data.class_names)} classes, padded to 32x32x3.")
    results = {}
    for depth in sorted({*depths, 20, 56}):
        if depth not in depths:  # counted, not trained
            model = create_model(f"resnet{depth}", num_classes=len(data.class_names))
            results[depth] = {"parameters": model.count_params(), "trained": False}
            continue
        print(f"\nResNet-{depth}: {args.epochs} epochs of SGD with momentum, step schedule ...")
        results[depth] = train_depth(depth, splits, data, args)

    print(f"\n{'depth':<7}{'parameters':>12}{'test accuracy':>15}{'steps':>7}{'seconds':>9}")
    for depth, row in results.items():
        if row["trained"]:
            accuracy, steps, seconds = row["test_accuracy"], row["steps"], row["seconds"]
            print(f"{depth:<7}{row['parameters']:>12,}{accuracy:>15.4f}{steps:>7}{seconds:>9.1f}")
        else:
            print(f"{depth:<7}{row['parameters']:>12,}{'(not trained)':>15}")
    report = {
        "depths": {str(depth): row for depth, row in results.items()}, "data": args.data,
        "epochs": args.epochs, "quick": args.quick, "seed": args.seed,
    }  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    print(f"Models, curves and results.json in {args.out}")
    return report


"""
## What to expect

The quick run's 24 steps take ResNet-20 well above chance on the digits, and no
further: it shows the mechanics, not the accuracy. On CIFAR-10 the paper reports 8.75%
error for ResNet-20 and 6.97% for ResNet-56 after 164 epochs; a short run shows the
order at best, not the figures. Training for real: `--data tfds:cifar10 --epochs 164`
(hours on a GPU, days on a CPU).
"""

if __name__ == "__main__":
    main()
