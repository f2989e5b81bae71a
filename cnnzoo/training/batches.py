"""Batches of arrays held in memory, for ``fit`` on JAX and PyTorch.

Keras feeds a ``tf.data`` pipeline to JAX and PyTorch by converting every batch as it
comes; for a small network that conversion is a good part of a step (LeNet-5 on the
bundled digits, against the same batches from numpy arrays: 0.91 of the speed on JAX,
0.68 on PyTorch). A split that fits in memory and has no random steps (augmentation) is
therefore run through the pipeline once and handed to ``fit`` as numpy batches, shuffled
every epoch from the run's seed; on TensorFlow the pipeline itself is as fast.
"""

from __future__ import annotations

import keras
import numpy as np


class ArrayBatches(keras.utils.PyDataset):
    """Batches of ``(images, labels)`` arrays, in a new order every epoch when
    ``shuffle`` (from ``seed``, so that a run repeats).

    Example:
        >>> batches = ArrayBatches(np.arange(5.0), np.arange(5), 2, shuffle=False)
        >>> len(batches), [labels.tolist() for _, labels in batches]
        (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(self, images, labels, batch_size: int, *, shuffle: bool, seed: int = 0):
        super().__init__()
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.shuffle = shuffle
        self._random = np.random.default_rng(seed)
        self._order = self._new_order()

    @classmethod
    def read(cls, dataset, batch_size: int, *, shuffle: bool, seed: int = 0) -> ArrayBatches:
        """Runs ``dataset`` (batches of ``(images, labels)``) once into arrays."""
        images, labels = zip(*dataset.as_numpy_iterator(), strict=True)
        return cls(np.concatenate(images), np.concatenate(labels), batch_size,
                   shuffle=shuffle, seed=seed)  # fmt: skip

    def _new_order(self) -> np.ndarray:
        count = len(self.labels)
        return self._random.permutation(count) if self.shuffle else np.arange(count)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __getitem__(self, index: int):
        if index >= len(self):
            raise IndexError(index)
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.images[rows], self.labels[rows]

    def on_epoch_end(self):
        self._order = self._new_order()

    def as_dataset(self):
        """This epoch's batches as a ``tf.data.Dataset`` (for what needs ``repeat``)."""
        import tensorflow as tf

        rows = (self.images[self._order], self.labels[self._order])
        return tf.data.Dataset.from_tensor_slices(rows).batch(self.batch_size)


def wanted(augment, distributed: bool) -> bool:
    """Whether a split goes to ``fit`` as :class:`ArrayBatches`: on JAX and PyTorch, in
    one process, without augmentation (its random steps belong to the pipeline)."""
    return keras.backend.backend() != "tensorflow" and not distributed and augment is None


__all__ = ["ArrayBatches", "wanted"]
