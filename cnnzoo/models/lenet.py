"""LeNet-5 (LeCun, Bottou, Bengio, Haffner, 1998), as in the paper and in its modern form."""

from __future__ import annotations

import keras

from cnnzoo.checks import (
    check_choice,
    check_units,
)
from cnnzoo.family import Family, NamedModel, SearchDefaults, scaled
from cnnzoo.layers import conv_norm_act, pool
from cnnzoo.models.common_args import (
    check_window,
    common_args,
    forwards_to,
    keyword_checked,
    naming_input_shape,
    per_stage_paddings,
    per_stage_windows,
)
from cnnzoo.registry import register_family

PAPER = (
    "LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document "
    "recognition. Proc. IEEE 86(11), 1998"
)

# The paper's Table I: the S2 maps (0-5) each C3 map (0-15) reads. Maps 0-5 read three
# contiguous maps, 6-11 four contiguous, 12-14 four non-contiguous, 15 all six.
C3_CONNECTIONS = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip

# Per variant: activation, pooling kind, trainable subsampling, C3 connection table.
VARIANTS = {
    "original": dict(activation="scaled_tanh", pool="avg", trainable_subsampling=True, table=True),
    "modern": dict(activation="relu", pool="max", trainable_subsampling=False, table=False),
}
# Paper names of the three convolutions and of the subsampling after the first two.
CONV_NAMES = ("c1", "c3", "c5")
POOL_NAMES = ("s2", "s4")
# Section II.B: "The input is a 32x32 pixel image", the 28x28 MNIST field extended with
# background so that stroke end-points can reach the centre of C5's receptive fields.
FIELD = 32
FILTERS = (6, 16, 120)  # C1, C3, C5
FC_UNITS = (84,)  # F6


def centring_padding(spatial_shape) -> tuple[tuple[int, int], ...] | None:
    """C1's zero padding that centres an input smaller than the paper's 32-pixel field in
    it, ``(before, after)`` per axis (the extra pixel after, for odd differences); ``None``
    when no axis is smaller (or every size is ``None``).

    Example:
        >>> centring_padding((28, 28))
        ((2, 2), (2, 2))
        >>> centring_padding((27, 40))
        ((2, 3), (0, 0))
        >>> centring_padding((32, 32)) is None
        True
    """
    extra = [0 if size is None else max(0, FIELD - size) for size in spatial_shape]
    if not any(extra):
        return None
    return tuple((pixels // 2, pixels - pixels // 2) for pixels in extra)


@keyword_checked
def lenet5(
    *,
    variant: str = "original",
    num_classes: int = 10,
    input_shape: tuple = (32, 32, 1),
    filters: tuple[int, int, int] = FILTERS,
    kernel_size=5,
    strides=1,
    padding=None,
    pool_size=2,
    fc_units: tuple[int, ...] = FC_UNITS,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation="softmax",
    dropout: float = 0.0,
    name: str | None = None,
    activation=None,
    norm: str | None = None,
    kernel_regularizer=None,
    noise: float | None = None,
    augmentation=None,
    weights=None,
) -> keras.Model:
    """LeNet-5: C1 (6@5x5), S2, C3 (16@5x5), S4, C5 (120@5x5), F6 (84), 10 outputs.

    ``variant="original"`` follows the paper: scaled tanh (``1.7159 tanh(2a/3)``), trainable
    subsampling in S2 and S4 (2x2 average times one trainable coefficient plus one bias per
    map, then the squashing function) and C3's partial connection table (Table I). Its one
    deviation: the output is a softmax dense layer, not the paper's Euclidean RBF units.
    ``variant="modern"``: full connectivity, ReLU and max pooling.

    The paper's input is a 32x32 field, the 28x28 MNIST digits centred in it (section
    II.B). With ``padding`` left out, an input smaller than 32 on an axis is zero-padded,
    centred, to 32 by C1's padding (layer ``c1_pad``): ``lenet5(input_shape=(28, 28, 1))``
    is the paper's network on MNIST, the same as ``padding=(2, "valid", "valid")``. An
    explicit ``padding`` turns that off (``padding=("same", "valid", "valid")`` is the
    usual modern choice for 28x28).

    Layer names: ``c1``, ``s2``, ``c3``, ``s4``, ``c5`` (each with ``_conv``, ``_act``, and
    ``_pool`` for subsampling), ``stage1_out`` (after S2), ``stage2_out`` (after S4),
    ``stage3_out`` (after C5), then the head (``head_fc1`` is F6, ``predictions``).

    Args:
        variant: ``"original"`` or ``"modern"``.
        num_classes: Number of outputs.
        input_shape: ``(32, 32, 1)`` by default; 1-D ``(length, channels)`` and 3-D
            ``(depth, height, width, channels)`` shapes build 1-D and 3-D networks.
        filters: Maps of C1, C3 and C5.
        kernel_size: Kernel of C1, C3, C5: one value, or one per convolution.
        strides: Stride of C1, C3, C5 (1 in the paper): one value, or one per convolution.
        padding: Padding of C1, C3, C5: one value or one each. ``None`` (the default):
            ``"valid"`` as in the paper, with an input smaller than 32 centred in the
            paper's 32x32 field by C1's zero padding.
        pool_size: Subsampling window and stride of S2 and S4.
        fc_units: Hidden fully connected layers (F6).
        include_top: Whether to add F6 and the output layer.
        pooling: Feature pooling: ``None``, ``"flatten"`` (the default with the top),
            ``"avg"`` or ``"max"``.
        classifier_activation: Activation of the output layer.
        dropout: Dropout after each hidden fully connected layer.
        name: Model name (default ``"lenet5"``; ``lenet5_modern()`` names its model
            ``"lenet5_modern"``).
        activation: Overrides the variant's activation.
        norm: ``"batch"`` adds batch norm after each convolution.
        kernel_regularizer: ``"l2"``, ``("l2", 1e-4)``, ... or a Keras regularizer.
        noise: Standard deviation of Gaussian noise added to the input in training.
        augmentation: Keras preprocessing layers applied to the input in training.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: For a bad argument, or an input too small for C5 (28x28 with
            ``padding="valid"``), with the arithmetic of the layer where the size collapses.

    Example:
        >>> model = lenet5()
        >>> model.count_params()  # C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164
        60850
        >>> digits = lenet5(input_shape=(28, 28, 1))  # centred in the 32x32 field
        >>> digits.get_layer("c1_pad").output.shape, digits.get_layer("c1_conv").output.shape
        ((None, 32, 32, 1), (None, 28, 28, 6))
        >>> digits.count_params()
        60850
    """
    check_choice("variant", variant, tuple(VARIANTS))
    spec = VARIANTS[variant]
    activation = spec["activation"] if activation is None else activation  # the variant's
    args = common_args(locals(), default_name="lenet5")
    filters = check_units("filters", filters)
    if len(filters) != 3:
        raise ValueError(
            f"filters must give C1, C3 and C5 maps (3 ints); received filters={filters!r}."
        )
    if spec["table"] and filters[:2] != (6, 16):
        raise ValueError(
            "variant='original' uses the paper's C3 connection table, which needs "
            f"filters[:2] == (6, 16); received filters={filters!r}. Use variant='modern' "
            "for other widths."
        )
    fc_units = check_units("fc_units", fc_units)
    rank = args.spatial_rank
    if padding is None:  # the paper's: valid, a smaller input centred in the 32x32 field
        paddings = (centring_padding(args.input_shape[:-1]) or "valid", "valid", "valid")
    else:
        paddings = per_stage_paddings("padding", padding, 3, rank)
    # (kernel_size, strides, padding) of C1, C3 and C5
    convs = tuple(
        zip(
            per_stage_windows("kernel_size", kernel_size, 3, rank),
            per_stage_windows("strides", strides, 3, rank),
            paddings,
            strict=True,
        )
    )
    check_window("pool_size", pool_size, rank)

    small = padding is not None and any(
        size is not None and size < FIELD for size in args.input_shape[:-1]
    )
    hint = (
        f" Without padding=, LeNet-5 centres an input smaller than {FIELD} in the paper's "
        f"{FIELD}x{FIELD} field (for 28x28 the same as padding=(2, 'valid', 'valid'))."
    )
    with naming_input_shape(args.input_shape, hint if small else ""):
        return _build(args, spec, filters, convs, pool_size, fc_units)


def _build(args, spec, filters, convs, pool_size, fc_units) -> keras.Model:
    inputs, x = args.model_input()
    layers = zip(CONV_NAMES, filters, convs, strict=True)
    for stage, (conv_name, width, (kernel_size, strides, padding)) in enumerate(layers, start=1):
        x = conv_norm_act(
            x,
            width,
            kernel_size,
            strides=strides,
            padding=padding,
            connection_table=C3_CONNECTIONS if spec["table"] and conv_name == "c3" else None,
            norm=args.norm,
            activation=args.activation,
            kernel_regularizer=args.kernel_regularizer,
            name=conv_name,
        )
        if stage <= len(POOL_NAMES):
            subsampling = POOL_NAMES[stage - 1]
            x = pool(x, spec["pool"], pool_size, name=f"{subsampling}_pool")
            if spec["trainable_subsampling"]:
                # One coefficient and one bias per map (a 1x1 convolution with one group per
                # map), then the squashing function: the paper's 12 and 32 parameters.
                x = conv_norm_act(
                    x, width, 1, groups=width, activation=args.activation, name=subsampling
                )
        x = keras.layers.Identity(name=f"stage{stage}_out")(x)
    return args.finish(inputs, x, fc_units)


@forwards_to(lenet5, defaults={"variant": "modern", "name": "lenet5_modern"})
def lenet5_modern(**kwargs) -> keras.Model:
    """LeNet-5 as it is taught today: ReLU, 2x2 max pooling, C3 connected to every map of
    S2, and a softmax classifier. See :func:`lenet5`.

    Example:
        >>> lenet5_modern(num_classes=10, input_shape=(28, 28, 1)).output_shape
        (None, 10)
    """
    return lenet5(**kwargs)


_CENTRING_NOTE = (
    " An input smaller than 32 on an axis (28x28 MNIST) is zero-padded, centred, to the "
    "paper's 32x32 field by C1's padding (layer c1_pad), as the paper extended the 28x28 "
    "digits (section II.B); an explicit padding= turns this off."
)
FAMILY = Family(
    name="lenet",
    builder=lenet5,
    paper=PAPER,
    year=1998,
    default_input_shape=(32, 32, 1),
    min_input_size=FIELD,
    models=(
        NamedModel(
            lenet5,
            reference_params=60_850,
            reference_source=(
                "the paper's per-layer counts (section II.B), with a softmax output (850) in "
                "place of the RBF layer"
            ),
            notes=(
                "Output layer is a softmax dense layer instead of the paper's 84x10 Euclidean "
                "RBF units. Subsampling is average pooling times a trainable per-map coefficient "
                "plus bias (equal to the paper's sum times a coefficient)." + _CENTRING_NOTE
            ),
            # the paper's C3 connection table fixes C1 and C3 at 6 and 16 maps
            search_skips=("width",),
        ),
        NamedModel(
            lenet5_modern,
            reference_params=61_706,
            reference_source="computed: C1 156, C3 2,416 (full), C5 48,120, F6 10,164, output 850",
            notes=(
                "Modern form, not the paper's: ReLU, 2x2 max pooling, C3 fully connected, "
                "softmax." + _CENTRING_NOTE
            ),
        ),
    ),
    search_model="lenet5_modern",
    search=SearchDefaults(
        knobs=("width", "kernel_size", "padding"), kernel_size=5, padding="valid", pooling="flatten"
    ),
    scale_width=lambda defaults, factor: {
        "filters": scaled(FILTERS, factor),
        "fc_units": scaled(FC_UNITS, factor),
    },
)
register_family(FAMILY)
