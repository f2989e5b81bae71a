"""A gallery of the predictions worth looking at: the most confident mistakes and the
least confident correct answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cnnzoo.checks import check_positive_int
from cnnzoo.evaluation.metrics import check_predictions
from cnnzoo.viz.figures import new_figure, save_png, show_image, single_image


def gallery_picks(probabilities, labels, count: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``(mistakes, unsure)``: the indices of the ``count`` most confident mistakes (most
    confident first) and of the ``count`` least confident correct answers (least first).

    Example:
        >>> scores = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]]
        >>> [picks.tolist() for picks in gallery_picks(scores, [1, 0, 1, 0], count=1)]
        [[0], [1]]
    """
    scores, classes = check_predictions(probabilities, labels)
    check_positive_int("count", count)
    confidence, predicted = scores.max(axis=1), scores.argmax(axis=1)
    wrong = np.flatnonzero(predicted != classes)
    right = np.flatnonzero(predicted == classes)
    mistakes = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    unsure = right[np.argsort(confidence[right], kind="stable")][:count]
    return mistakes, unsure


def prediction_gallery(
    images,
    labels,
    probabilities,
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    count: int = 8,
    title: str = "",
) -> Figure:
    """Draws two rows of images: the ``count`` most confident mistakes, then the ``count``
    least confident correct answers (:func:`gallery_picks`), each titled with its true
    class, the predicted class and the probability given to it.

    Args:
        images: The images ``(n, height, width[, channels])``, in any value range (each is
            drawn stretched to its own range; RGB in [0, 255] or [0, 1]).
        labels: True class indices ``(n,)``.
        probabilities: The model's probabilities ``(n, classes)``.
        path: Where to write the PNG.
        class_names: One name per class (default: the indices).
        count: At most how many images per row.
        title: Figure title.

    Returns:
        The matplotlib ``Figure``: one axis per image shown, and one for a row with none.

    Raises:
        ValueError: For images, labels and probabilities of different lengths, or as
            :func:`gallery_picks`.

    Example:
        >>> import tempfile, pathlib
        >>> images = np.random.default_rng(0).uniform(0, 1, (3, 8, 8))
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "gallery.png"
        >>> figure = prediction_gallery(images, [0, 1, 1], [[0.2, 0.8], [0.3, 0.7],
        ...                             [0.9, 0.1]], out, class_names=["cat", "dog"])
        >>> [axis.get_title() for axis in figure.axes][:2]
        ['true dog\\npredicted cat 0.90', 'true cat\\npredicted dog 0.80']
    """
    scores, classes = check_predictions(probabilities, labels)
    pictures = np.asarray(images)
    if len(pictures) != len(classes):
        raise ValueError(
            f"images must hold one image per label ({len(classes)}); received {len(pictures)}."
        )
    names = [str(i) for i in range(scores.shape[1])] if class_names is None else class_names
    rows = zip(("most confident mistakes", "least confident correct answers"),
               gallery_picks(scores, classes, count), strict=True)  # fmt: skip
    columns = max(1, *(len(picks) for picks in gallery_picks(scores, classes, count)))
    figure = new_figure(max(6.0, 1.6 * columns), 4.2)
    grid = figure.add_gridspec(2, columns)
    for row, (heading, picks) in enumerate(rows):
        if not len(picks):
            axis = figure.add_subplot(grid[row, :])
            axis.text(0.5, 0.5, f"{heading}: none", ha="center", va="center")
            axis.set_axis_off()
            continue
        for column, index in enumerate(picks):
            axis = figure.add_subplot(grid[row, column])
            guess = int(scores[index].argmax())
            picture = single_image(pictures[index])
            if picture.shape[-1] >= 3:  # colour: drawn in [0, 1]
                picture = picture[..., :3] / (255.0 if picture.max() > 1 else 1.0)
            show_image(axis, picture, title=f"true {names[classes[index]]}\n"
                       f"predicted {names[guess]} {scores[index, guess]:.2f}")  # fmt: skip
            if column == 0:
                axis.set_ylabel(heading, fontsize=8)
    return save_png(figure, path, title=title)
