"""Learning-curve plots written as PNG files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator


def plot_history(
    history: Mapping[str, Sequence[float]], path: str | Path, *, title: str = ""
) -> Path:
    """Plots each metric of a Keras history (train and ``val_`` side by side) into a PNG.

    Args:
        history: ``model.fit(...).history``, or any mapping of metric name to per-epoch values.
        path: Where to write the PNG.
        title: Figure title.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
        >>> plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, out).stat().st_size > 0
        True
    """
    metrics = [name for name in history if not name.startswith("val_") and name != "learning_rate"]
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        epochs = range(1, len(history[metric]) + 1)
        axis.plot(epochs, history[metric], marker="o", label="train")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
