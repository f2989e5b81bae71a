"""Hand-made 3x3 filters (Prewitt, Sobel, Laplacian, blur, sharpen) as Keras initializers.

Before CNNs learned their kernels, people designed them: Prewitt and Sobel kernels find
edges, a Laplacian finds blobs and corners, a box blur smooths and a sharpen kernel does the
opposite. :class:`HandMadeFilters` puts them into a convolution, so that a learner can
compare a hand-made first layer with a learned one, or start training from edge detectors.

Every bank name also works as a plain initializer string, ``Conv2D(8, 3,
kernel_initializer="sobel")`` and ``conv_norm_act(..., kernel_initializer="sobel")``:
Keras resolves an initializer string ``name`` as ``{"class_name": name, "config": {}}``,
finds ``name`` in its global custom objects and calls ``from_config({})`` on what it finds.
Importing this module adds one such entry per bank, which builds a ``HandMadeFilters``;
layers then save that (as ``cnnzoo>HandMadeFilters``) in ``.keras`` files.
"""

from __future__ import annotations

import keras
import numpy as np

from cnnzoo.checks import check_choice


def _read_only(rows) -> np.ndarray:
    kernel = np.array(rows, dtype="float32")
    kernel.setflags(write=False)
    return kernel


_PREWITT_X = _read_only([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
_SOBEL_X = _read_only([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])

# Indexed [row, column] as Keras kernels are, and applied as cross-correlation (what Keras
# calls convolution): the x kernels are positive where brightness rises to the right, so
# they respond to vertical edges; the y kernels to brightness rising downwards.
KERNELS: dict[str, np.ndarray] = {
    "prewitt_x": _PREWITT_X,
    "prewitt_y": _read_only(_PREWITT_X.T),
    "sobel_x": _SOBEL_X,
    "sobel_y": _read_only(_SOBEL_X.T),
    "laplacian": _read_only([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "box_blur": _read_only(np.full((3, 3), 1 / 9)),
    "sharpen": _read_only([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
}

# A layer's filters cycle through its bank's kernels.
FILTER_BANKS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in KERNELS},
    "prewitt": ("prewitt_x", "prewitt_y"),
    "sobel": ("sobel_x", "sobel_y"),
    "edges": ("prewitt_x", "prewitt_y", "sobel_x", "sobel_y", "laplacian"),
}


@keras.saving.register_keras_serializable(package="cnnzoo")
class HandMadeFilters(keras.initializers.Initializer):
    """Fills a 2-D convolution kernel with hand-made filters, cycling through a bank.

    Filter ``j`` of a layer gets the bank's kernel ``j % len(bank)``, the same on every input
    channel and divided by the number of input channels, so that it filters the mean of the
    channels (a colour image's brightness). A kernel larger than 3x3 (odd sizes) gets the
    3x3 filter in its centre and zeros around it.

    Args:
        bank: A kernel name from :data:`KERNELS` (``"sobel_x"``, ``"laplacian"``, ...) or a
            bank from :data:`FILTER_BANKS`: ``"prewitt"`` and ``"sobel"`` (x then y) or
            ``"edges"`` (Prewitt x and y, Sobel x and y, Laplacian).

    Raises:
        ValueError: For an unknown bank, or (when called) a shape that is not a 2-D
            convolution kernel ``(height, width, in_channels, filters)`` with odd sides of
            at least 3.

    Example:
        >>> import keras
        >>> conv = keras.layers.Conv2D(4, 3, kernel_initializer="sobel")
        >>> conv.build((None, 28, 28, 1))
        >>> kernel = keras.ops.convert_to_numpy(conv.kernel)
        >>> kernel[:, :, 0, 0]  # filters 0 and 2: Sobel x; 1 and 3: Sobel y
        array([[-1.,  0.,  1.],
               [-2.,  0.,  2.],
               [-1.,  0.,  1.]], dtype=float32)
        >>> edges = keras.ops.convert_to_numpy(HandMadeFilters("edges")((3, 3, 2, 5)))
        >>> edges[:, :, 1, 4]  # filter 4 is the Laplacian, halved for 2 input channels
        array([[ 0. ,  0.5,  0. ],
               [ 0.5, -2. ,  0.5],
               [ 0. ,  0.5,  0. ]], dtype=float32)
    """

    def __init__(self, bank: str = "sobel"):
        self.bank = check_choice("bank", bank, sorted(FILTER_BANKS))

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 4 or any(side < 3 or side % 2 == 0 for side in shape[:2]):
            raise ValueError(
                f"HandMadeFilters({self.bank!r}) fills 2-D convolution kernels "
                "(height, width, in_channels, filters) with odd height and width of at least 3; "
                f"received shape={shape}."
            )
        height, width, in_channels, filters = shape
        kernels = [KERNELS[name] for name in FILTER_BANKS[self.bank]]
        rows, columns = (height - 3) // 2, (width - 3) // 2
        kernels = [np.pad(kernel, ((rows, rows), (columns, columns))) for kernel in kernels]
        values = np.stack([kernels[j % len(kernels)] for j in range(filters)], axis=-1)
        values = np.repeat(values[:, :, None, :] / in_channels, in_channels, axis=2)
        return keras.ops.convert_to_tensor(values, dtype=dtype or keras.config.floatx())

    def get_config(self) -> dict:
        return {"bank": self.bank}


class _BankByName:
    """The global custom object that turns the string ``bank`` into ``HandMadeFilters(bank)``."""

    def __init__(self, bank: str):
        self.bank = bank

    def from_config(self, config: dict) -> HandMadeFilters:
        return HandMadeFilters(self.bank, **config)


for _bank in FILTER_BANKS:
    keras.saving.get_custom_objects()[_bank] = _BankByName(_bank)
