"""The main job: train LeNet-5 on the bundled MNIST sample and write a run folder.

Run it with ``make demo`` or ``python -m cnnzoo.demo [--epochs N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from cnnzoo.data import load_sample
from cnnzoo.models import lenet5
from cnnzoo.viz import learning_curves


@dataclass(frozen=True)
class DemoResult:
    test_accuracy: float
    run_dir: Path
    model_path: Path
    history_path: Path
    plot_path: Path


def demo_model() -> keras.Model:
    """LeNet-5 (modern variant) for 28x28 digits, padded to the paper's 32x32 in C1.

    Batch norm and light augmentation (small shifts and rotations) let it reach about 98%
    on 1,000 held-out digits from 3,600 training images.
    """
    return lenet5(
        variant="modern",
        input_shape=(28, 28, 1),
        padding=(2, "valid", "valid"),
        norm="batch",
        augmentation=[
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant"),
            keras.layers.RandomRotation(0.03, fill_mode="constant"),
        ],
        name="lenet5_demo",
    )


def run_demo(
    *,
    epochs: int = 20,
    batch_size: int = 32,
    out_dir: str | Path | None = None,
    seed: int = 0,
    verbose="auto",
) -> DemoResult:
    """Trains the demo model, evaluates it on the held-out test split, writes the run folder.

    The folder holds ``model.keras``, ``history.csv`` (one row per epoch), ``learning_curves.png``
    and ``metrics.json``.

    Args:
        epochs: Training epochs.
        batch_size: Batch size.
        out_dir: Run folder; defaults to ``runs/lenet5-mnist-<timestamp>``.
        seed: Seed for the split, the initial weights and the augmentation.
        verbose: Keras ``fit`` verbosity (``1`` shows a progress bar).

    Returns:
        A :class:`DemoResult` with the test accuracy and the paths written.
    """
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int; received epochs={epochs!r}.")
    run_dir = Path(out_dir or f"runs/lenet5-mnist-{time.strftime('%Y%m%d-%H%M%S')}")
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    data = load_sample("mnist", seed=seed)
    model = demo_model()
    steps = epochs * -(-len(data.train.labels) // batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history_path = run_dir / "history.csv"
    history = model.fit(
        *data.train,
        validation_data=tuple(data.validation),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[keras.callbacks.CSVLogger(str(history_path))],
        verbose=verbose,
    )
    _, accuracy = model.evaluate(*data.test, batch_size=256, verbose=0)
    model_path = run_dir / "model.keras"
    model.save(model_path)
    plot_path = run_dir / "learning_curves.png"
    learning_curves(history.history, plot_path, title="LeNet-5 on the MNIST sample")
    metrics = {"test_accuracy": accuracy, "test_images": len(data.test.labels), "epochs": epochs}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return DemoResult(float(accuracy), run_dir, model_path, history_path, plot_path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--out", default=None, help="run folder (default runs/lenet5-mnist-<time>)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"Training LeNet-5 on the bundled MNIST sample for {args.epochs} epochs...")
    start = time.perf_counter()
    result = run_demo(epochs=args.epochs, out_dir=args.out, seed=args.seed, verbose=1)
    print(f"\nTest accuracy on 1,000 held-out images: {result.test_accuracy:.2%}")
    print(f"Trained in {time.perf_counter() - start:.0f} s. Results written to {result.run_dir}/:")
    for path in (result.model_path, result.history_path, result.plot_path):
        print(f"  {path.name}")
    print("  metrics.json")


if __name__ == "__main__":
    main()
