"""Layer-wise learning rates against a single rate, on the transfer recipe's task.

The task of ``recipes/transfer_digits.py``, offline: ResNet-20 pretrained on the bundled
digits 0-4, then digits 5-9 learnt from 20 images each. Per seed: phase 1 trains a fresh
head on the frozen backbone (up to ``--epochs`` epochs at 3e-3, early stopping); from
that same model, phase 2 trains the whole model at ``--rate`` for the head, once with one
rate for every layer (``layer_decay=1``), once per ``--single-rates`` value (one lower
rate for every layer, head included) and once per ``--decays`` value (each stage
``layer_decay`` times slower than the one above; ``fit_in_phases(layer_decay=...)``).
Each seed draws its own 20 images per digit and its own head. Printed: mean and standard
deviation over the seeds of the validation accuracy (the best epoch's, restored by
early stopping) and of the test accuracy.

    .venv/bin/python benchmarks/bench_layer_decay.py [--seeds 5] [--decays 0.7]
        [--single-rates 3e-4] [--rate 1e-3] [--epochs 15] [--pretrain-epochs 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recipes"))
from transfer_digits import PATIENCE, accuracy, digit_net, split_tasks

from cnnzoo.transfer import Phase, fit_in_phases, replace_head


def pretrained(epochs: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    source, _ = split_tasks(20, seed=0)
    model = digit_net()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*source, batch_size=64, epochs=epochs, verbose=0)
    return model


def settings(args) -> list[tuple[str, float, float]]:
    """(name, head's rate, layer_decay) of each phase 2 compared."""
    single = [(f"single rate {rate:g}", rate, 1.0) for rate in (args.rate, *args.single_rates)]
    decayed = [(f"layer_decay={decay:g}, head {args.rate:g}", args.rate, decay)
               for decay in args.decays]  # fmt: skip
    return single + decayed


def run_seed(source: keras.Model, seed: int, args) -> dict[str, tuple[float, float]]:
    """Validation and test accuracy of phase 2 per setting, from one phase-1 model."""
    _, target = split_tasks(20, seed=seed)
    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(source)
    copy.set_weights(source.get_weights())
    model = replace_head(copy, 5)  # the pretrained backbone, a fresh head
    head = Phase(epochs=args.epochs, learning_rate=3e-3, patience=PATIENCE)
    fit_in_phases(model, target["train"], target["validation"], phases=[head], batch_size=20,
                  verbose=0)  # fmt: skip
    after_head = model.get_weights()
    results = {}
    for name, rate, decay in settings(args):
        whole = Phase(args.epochs, learning_rate=rate, trainable_stages=None, patience=PATIENCE)
        keras.utils.set_random_seed(seed)
        model.set_weights(after_head)
        result = fit_in_phases(
            model, target["train"], target["validation"], phases=[whole], batch_size=20,
            layer_decay=decay, verbose=0,
        )  # fmt: skip
        results[name] = (accuracy(model, target["validation"]), accuracy(model, target["test"]))
        rates = ", ".join(f"{g} {r:.2g}" for g, r in result.learning_rates[0].items())
        print(f"  seed {seed}, {name} ({rates}): validation "
              f"{results[name][0]:.3f}, test {results[name][1]:.3f}", flush=True)  # fmt: skip
    return results


def floats(text: str) -> list[float]:
    """Comma-separated numbers."""
    return [float(value) for value in text.split(",") if value]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--decays", type=floats, default=[0.7], help="e.g. 0.7,0.5")
    parser.add_argument("--single-rates", type=floats, default=[],
                        help="other single rates to compare, e.g. 3e-4,1e-4")  # fmt: skip
    parser.add_argument("--rate", type=float, default=1e-3, help="phase 2's (head) rate")
    parser.add_argument("--epochs", type=int, default=15, help="most epochs of each phase")
    parser.add_argument("--pretrain-epochs", type=int, default=6)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"Pretraining ResNet-20 on digits 0-4 ({args.pretrain_epochs} epochs) ...")
    source = pretrained(args.pretrain_epochs)
    runs = [run_seed(source, seed, args) for seed in range(args.seeds)]
    print(f"\nDigits 5-9 from 20 images each; phase 2 trains the whole model, head at "
          f"{args.rate:g}; {args.seeds} seeds, mean ± std:\n")  # fmt: skip
    print("| phase 2 | validation accuracy | test accuracy |")
    print("|---|---|---|")
    for name, _, _ in settings(args):
        cells = []
        for index in (0, 1):
            values = [run[name][index] for run in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{np.mean(values):.3f} ± {spread:.3f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
