"""
Title: GoogLeNet's auxiliary classifiers: train with them, export without them
Author: cnnzoo
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Train GoogLeNet with its two auxiliary heads, then save the one-output model.

Run: `python recipes/googlenet_aux.py [--quick] [--model googlenet|googlenet_bn] [--out DIR]`
"""

"""
## Why auxiliary classifiers?

GoogLeNet (Szegedy et al. 2014) is 22 layers deep, and its authors worried that the
gradient reaching the early layers would be too weak. Section 5 adds two small
classifiers to the middle of the network, after modules 4a and 4d: average pooling,
a 1x1 convolution, a fully connected layer, dropout and a softmax. During training
their losses are added to the main loss with a weight of 0.3, pushing the middle
layers towards features that already separate the classes; at inference they are
thrown away.

In Keras that is a model with three outputs for training and a model with one output
for use. cnnzoo gives both over the same layers:

- `googlenet(aux_logits=True)` builds the network with outputs `predictions`,
  `aux1_predictions` and `aux2_predictions`;
- `compile_with_auxiliary_heads(model, ...)` compiles it so that `fit(images, labels)`
  takes one label array for all three outputs, with the paper's 0.3 loss weights (a
  plain Keras model would want one label array per output);
- `without_auxiliary_heads(model)` returns the inference model: the main output only,
  the same weights.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from cnnzoo import compile_with_auxiliary_heads, create_model, without_auxiliary_heads
from cnnzoo.data import load_sample, pipeline
from cnnzoo.viz import learning_curves

"""
## The network and the data

The auxiliary heads pool a 4x4 map out of the 14x14 one at 224x224; their smallest
input is 65x65, and 79x79 for `googlenet_bn`, whose poolings keep a last partial window
as torchvision's do (`googlenet(aux_logits=True)` says so if you go below). The digits of
the bundled sample are resized to `--image-size` pixels (the least in the quick run, 96
otherwise)
and repeated to three channels by `cnnzoo.data.pipeline`. The quick run trains on 96
digits for one epoch: enough to exercise everything, not to learn digits.

`googlenet_bn` (torchvision's variant: batch norm after every convolution, no local
response normalization) is the default here because it trains quickly from scratch;
`--model googlenet` trains the paper's form.
"""


def digits(quick: bool, seed: int):
    splits = load_sample("mnist", seed=seed)
    if not quick:
        return tuple(splits.train), tuple(splits.validation), tuple(splits.test)
    return tuple(
        (split.images[:count], split.labels[:count])
        for split, count in ((splits.train, 96), (splits.validation, 32), (splits.test, 32))
    )


"""
## Training with the auxiliary heads

The training model reports the total loss (`loss`: main plus 0.3 times each auxiliary
loss), each part unweighted (`predictions_loss`, `aux1_predictions_loss`,
`aux2_predictions_loss`) and the main output's accuracy (`predictions_accuracy`).
"""


def train_with_heads(args, data):
    keras.utils.set_random_seed(args.seed)
    size = args.image_size
    model = create_model(
        args.model, num_classes=10, input_shape=(size, size, 3), aux_logits=True
    )  # fmt: skip
    print(f"{model.name}: outputs {model.output_names}, {model.count_params():,} parameters")
    # Tracing GoogLeNet's training graph takes about a minute on a 2-core CPU, more than
    # the quick run's three steps take eagerly.
    training = compile_with_auxiliary_heads(
        model, optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
        run_eagerly=args.quick,
    )  # fmt: skip
    batches = dict(input_range=(0, 1), batch_size=32, seed=args.seed)
    history = training.fit(
        pipeline(data[0], model, **batches),
        validation_data=pipeline(data[1], model, training=False, **batches),
        epochs=args.epochs,
        verbose=2,
    )
    learning_curves(history, args.out / "curves.png", title="GoogLeNet with auxiliary heads")
    return model, training, history.history


"""
## Exporting the inference model

`without_auxiliary_heads` keeps the layers up to `predictions` and drops both heads.
It is a plain functional model (the training model's class, which hands one label
array to three outputs, is gone), so the saved `.keras` file reloads with
`keras.saving.load_model`. The recipe checks what matters: the reloaded model has one
output, and on the same images it predicts what the training model's main output
predicts.
"""


def export(model, training, test, args) -> dict:
    inference = without_auxiliary_heads(model)
    path = args.out / "googlenet_inference.keras"
    inference.save(path)
    reloaded = keras.saving.load_model(path)

    images = next(iter(pipeline(test[0], model, training=False, input_range=(0, 1), batch_size=16)))
    images = keras.ops.convert_to_numpy(images)
    main_output = training.predict(images, verbose=0)[0]  # outputs: predictions, aux1, aux2
    exported = reloaded.predict(images, verbose=0)
    difference = float(np.max(np.abs(exported - main_output)))
    if len(reloaded.outputs) != 1 or not np.allclose(exported, main_output, atol=1e-5):
        raise RuntimeError(f"The exported model differs from the main output by {difference}.")
    np.savez(args.out / "check.npz", images=images, main_output=main_output)

    test_batches = pipeline(test, reloaded, training=False, input_range=(0, 1), batch_size=32)
    reloaded.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = reloaded.evaluate(test_batches, verbose=0)
    return {
        "path": str(path),
        "training_parameters": training.count_params(),
        "inference_parameters": reloaded.count_params(),
        "training_outputs": list(model.output_names),
        "inference_outputs": list(reloaded.output_names),
        "max_abs_difference": difference,
        "test_accuracy": float(accuracy),
    }


"""
## Run it
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--quick", action="store_true", help="a run of about a minute")
    parser.add_argument("--model", choices=("googlenet_bn", "googlenet"), default="googlenet_bn")
    parser.add_argument("--image-size", type=int, help="input side (96; quick: the least)")
    parser.add_argument("--epochs", type=int, help="epochs (10; quick 1)")
    parser.add_argument("--out", type=Path, default=Path("runs/googlenet_aux"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    smallest = {"googlenet": 65, "googlenet_bn": 79}[args.model]
    args.image_size = args.image_size or (smallest if args.quick else 96)
    args.epochs = args.epochs or (1 if args.quick else 10)
    args.out.mkdir(parents=True, exist_ok=True)

    data = digits(args.quick, args.seed)
    start = time.time()
    model, training, history = train_with_heads(args, data)
    seconds = time.time() - start
    report = export(model, training, data[2], args)
    dropped = report["training_parameters"] - report["inference_parameters"]
    print(f"\nTrained {args.epochs} epochs in {seconds:.0f} s; the last epoch's losses:")
    for key in ("loss", "predictions_loss", "aux1_predictions_loss", "aux2_predictions_loss"):
        print(f"  {key:<24}{history[key][-1]:.4f}")
    print(f"Inference model: {report['inference_outputs']}, {dropped:,} parameters dropped")
    print(f"Saved {report['path']}; it reloads and matches the training model's main output")
    print(f"(largest difference {report['max_abs_difference']:.2e}).")
    print(f"Test accuracy of the exported model: {report['test_accuracy']:.3f}")
    report.update(epochs=args.epochs, seconds=round(seconds, 1), quick=args.quick,
                  history={key: values for key, values in history.items()})  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    return report


"""
## Using the exported model

```python
import keras
model = keras.saving.load_model("runs/googlenet_aux/googlenet_inference.keras")
probabilities = model.predict(images)  # (n, 10): the main classifier alone
```

`googlenet_bn` is made of Keras' own layers, so loading it needs no cnnzoo import; the
paper's `googlenet` uses cnnzoo's `LocalResponseNormalization`, so `import cnnzoo` before
loading that one.
"""

if __name__ == "__main__":
    main()
