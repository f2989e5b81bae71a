"""Reliability diagrams: how often a classifier is right at each level of confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cnnzoo.evaluation.metrics import ECE_BINS, expected_calibration_error, reliability_bins
from cnnzoo.viz.figures import new_figure, save_png


def reliability_diagram(
    probabilities,
    labels,
    path: str | Path,
    *,
    calibrated=None,
    bins: int = ECE_BINS,
    title: str = "",
) -> Figure:
    """Draws the accuracy of each confidence bin against the diagonal of perfect
    calibration (Guo et al. 2017, figure 1), with the gap to it shaded and the expected
    calibration error in the panel's title; beside it, the same after temperature scaling
    when ``calibrated`` is given.

    Args:
        probabilities: Probabilities ``(n, classes)``.
        labels: True class indices ``(n,)``.
        path: Where to write the PNG.
        calibrated: The same predictions after calibration (optional), drawn in a second
            panel.
        bins: Number of equal-width confidence bins.
        title: Figure title.

    Returns:
        The matplotlib ``Figure``: one axis, or two with ``calibrated``.

    Raises:
        ValueError: As :func:`cnnzoo.evaluation.expected_calibration_error`.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "reliability.png"
        >>> figure = reliability_diagram([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]], [0, 0, 0], out)
        >>> figure.axes[0].get_title()
        'ECE 0.400 (3 examples)'
    """
    panels = [("", probabilities)]
    if calibrated is not None:
        panels = [("before: ", probabilities), ("after temperature scaling: ", calibrated)]
    tables = [(name, reliability_bins(scores, labels, bins)) for name, scores in panels]
    figure = new_figure(4.2 * len(panels), 4.4)
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for axis, (name, table), (_, scores) in zip(axes, tables, panels, strict=True):
        edges, count = table["edges"], table["count"]
        width = edges[1] - edges[0]
        filled = count > 0
        axis.bar(edges[:-1][filled], table["accuracy"][filled], width=width, align="edge",
                 color="tab:blue", edgecolor="black", linewidth=0.5, label="accuracy")  # fmt: skip
        # The gap from accuracy to mean confidence, hatched over the bar when it lies below.
        gap = table["confidence"][filled] - table["accuracy"][filled]
        axis.bar(edges[:-1][filled], gap, bottom=table["accuracy"][filled], width=width,
                 align="edge", facecolor="none", edgecolor="tab:red", hatch="//",
                 linewidth=0.5, label="gap to confidence")  # fmt: skip
        axis.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_xlabel("confidence")
        axis.set_ylabel("accuracy")
        axis.legend(loc="upper left", fontsize=8)
        ece = expected_calibration_error(scores, labels, bins)
        axis.set_title(f"{name}ECE {ece:.3f} ({int(count.sum())} examples)", fontsize=10)
    return save_png(figure, path, title=title)
