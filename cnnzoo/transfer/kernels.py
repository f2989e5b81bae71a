"""Fitting a source convolution kernel to the layer it loads into: another number of input
channels (:func:`adapt_input_kernel`) or another spatial rank (:func:`inflate_kernel`, a
2-D kernel in a 1-D or 3-D network).

Pure array functions, shared by every source that :mod:`cnnzoo.transfer.weights` matches
layer by layer (saved models, keras.applications files, torchvision state dicts).
"""

from __future__ import annotations

import keras
import numpy as np

# The convolutions a 2-D kernel is inflated into.
RANKED_CONV = (keras.layers.Conv1D, keras.layers.Conv3D)


def adapt_input_kernel(kernel: np.ndarray, channels: int) -> np.ndarray:
    """A first-convolution kernel ``(..., in, out)`` for ``channels`` input channels.

    RGB to one channel sums over the colours, so a gray image gives what the RGB model
    gives on that image in three equal channels; otherwise the channels repeat cyclically,
    rescaled by ``in / channels`` (as timm's ``adapt_input_conv``). For a multiple of
    ``in`` channels, equal channels then give exactly the RGB model's response; for
    others, approximately (the colours repeat unevenly: R, G, B, R for 4).

    Example:
        >>> import numpy as np
        >>> kernel = np.ones((3, 3, 3, 8), "float32")
        >>> adapt_input_kernel(kernel, 1).shape, float(adapt_input_kernel(kernel, 1).max())
        ((3, 3, 1, 8), 3.0)
        >>> float(adapt_input_kernel(kernel, 6).sum(axis=-2).max())
        3.0
    """
    source = kernel.shape[-2]
    if channels == 1:
        return kernel.sum(axis=-2, keepdims=True)
    repeated = np.take(kernel, [i % source for i in range(channels)], axis=-2)
    return (repeated * (source / channels)).astype(kernel.dtype)


def inflate_kernel(kernel, rank: int, depth: int | None = None) -> np.ndarray:
    """A 2-D convolution kernel ``(height, width, in, out)`` for a ``rank``-D convolution.

    - 3-D (I3D, Carreira and Zisserman 2017): the kernel repeats ``depth`` times along a
      new first axis and is divided by ``depth``, so a volume that repeats one image along
      depth gives, at every depth position, the 2-D network's activations on that image.
      Exact where the window along depth lies inside the volume: with ``"same"`` (or
      explicit zero) padding the first and last positions also read zeros, and from there
      the difference spreads inwards by the receptive field of each later layer.
    - 1-D: the width axis is summed over, so a signal gives the 2-D network's activations
      on the image whose every column is that signal (constant along width), at the
      columns whose receptive field lies inside the image: the 1-D network is the 2-D one
      on an image constant along an unbounded width. Near the left and right edges of a
      finite image the 2-D network reads zero padding that the 1-D one never sees.
    - 2-D: the kernel as it is.

    Strides and pooling need no weights: a map constant along an axis stays constant
    when pooled or subsampled along it.

    Args:
        kernel: A 2-D convolution kernel in Keras' layout ``(height, width, in, out)``.
        rank: The target convolution's spatial rank: 1, 2 or 3.
        depth: The 3-D kernel's size along depth; ``None`` takes the kernel's height (a
            3x3 kernel becomes 3x3x3). The target layer's kernel shape decides it when
            loading a model.

    Returns:
        The kernel ``(depth, height, width, in, out)``, ``(height, in, out)`` or as given,
        in the input's dtype.

    Raises:
        ValueError: For a kernel that is not 2-D, a rank other than 1, 2 or 3, or a
            ``depth`` that is not a positive int (or given for a rank other than 3).

    Example:
        >>> import numpy as np
        >>> kernel = np.ones((3, 3, 2, 4), "float32")
        >>> inflate_kernel(kernel, 3).shape, float(inflate_kernel(kernel, 3).sum())
        ((3, 3, 3, 2, 4), 72.0)
        >>> inflate_kernel(kernel, 3, depth=1).shape
        (1, 3, 3, 2, 4)
        >>> inflate_kernel(kernel, 1).shape, float(inflate_kernel(kernel, 1).max())
        ((3, 2, 4), 3.0)
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(
            "kernel must be a 2-D convolution kernel (height, width, in, out); received a "
            f"kernel of shape {kernel.shape}."
        )
    if rank not in (1, 2, 3) or isinstance(rank, bool):
        raise ValueError(f"rank must be 1, 2 or 3; received rank={rank!r}.")
    if depth is not None and (rank != 3 or not isinstance(depth, int) or depth <= 0):
        raise ValueError(
            f"depth must be a positive int, for rank 3 only; received depth={depth!r} for "
            f"rank {rank}."
        )
    if rank == 2:
        return kernel
    if rank == 1:
        return kernel.sum(axis=1).astype(kernel.dtype)
    depth = kernel.shape[0] if depth is None else depth
    return (np.repeat(kernel[None], depth, axis=0) / depth).astype(kernel.dtype)


def inflated_to(target_kernel: tuple, kernel: np.ndarray) -> tuple[np.ndarray, str] | None:
    """``kernel`` (2-D) inflated to the target's 1-D or 3-D kernel shape and how, or
    ``None`` where the target's height and width (1-D: height) are not the kernel's."""
    height, width = kernel.shape[:2]
    if len(target_kernel) == 5 and tuple(target_kernel[1:3]) == (height, width):
        depth = target_kernel[0]
        inflated = inflate_kernel(kernel, 3, depth=int(depth))
        return inflated, (
            f"kernel inflated from {height}x{width} to {depth}x{height}x{width} (repeated "
            f"along depth / {depth})"
        )
    if len(target_kernel) == 3 and target_kernel[0] == height:
        return inflate_kernel(kernel, 1), (
            f"kernel collapsed from {height}x{width} to {height} (summed over width)"
        )
    return None


def inflates(target, arrays) -> bool:
    """Whether ``arrays`` hold a 2-D kernel for ``target``, a 1-D or 3-D convolution."""
    return isinstance(target, RANKED_CONV) and bool(arrays) and np.ndim(arrays[0]) == 4
