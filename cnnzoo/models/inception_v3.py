"""Inception v3 (Szegedy et al., 2015), as keras.applications and torchvision build it."""

from __future__ import annotations

import functools
import re

import keras

from cnnzoo.checks import (
    check_choice,
)
from cnnzoo.family import (
    Family,
    KerasApplicationsWeights,
    NamedModel,
    SearchDefaults,
    TorchLayout,
)
from cnnzoo.layers import conv_norm_act, pool
from cnnzoo.layers.head import prediction_layer
from cnnzoo.layers.inception import INCEPTION_EPSILON
from cnnzoo.models.auxiliary import check_aux_logits
from cnnzoo.models.common_args import (
    common_args,
    keyword_checked,
    naming_input_shape,
)
from cnnzoo.pretrained.tags import keras_applications_weights, torchvision_weights
from cnnzoo.registry import register_family

PAPER = (
    "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna. Rethinking the Inception Architecture for "
    "Computer Vision. arXiv:1512.00567, 2015"
)

# The stem: (stage, name, filters, kernel, strides, padding) for a convolution, or
# (stage, name, "max", window, strides, padding) for a pooling. Sizes at 299x299.
STEM = (
    (1, "conv1a", 32, 3, 2, "valid"),  # (N, 149, 149, 32)
    (1, "conv2a", 32, 3, 1, "valid"),  # (N, 147, 147, 32)
    (1, "conv2b", 64, 3, 1, "same"),  # (N, 147, 147, 64)
    (2, "pool1", "max", 3, 2, "valid"),  # (N, 73, 73, 64)
    (2, "conv3b", 80, 1, 1, "valid"),  # (N, 73, 73, 80)
    (2, "conv4a", 192, 3, 1, "valid"),  # (N, 71, 71, 192)
    (3, "pool2", "max", 3, 2, "valid"),  # (N, 35, 35, 192)
)

# A module is a tuple of branches (name, steps), concatenated on channels in this order.
# Steps run in sequence: a convolution (filters, kernel) or (filters, kernel, strides,
# padding), "same" and stride 1 by default; a 3x3 pooling ("avg" | "max", strides,
# padding); or, as the last step, a pair of convolutions on the same input whose outputs
# are concatenated (the expanded filter bank of the paper's Figure 7). Branch names are
# torchvision's; a branch with several convolutions numbers them (branch5x5_1, ...).
# The 3x3/1 average pooling pads as the variant does (VARIANTS' "avg_pool_padding").
AVG_POOL = ("avg", 1, None)
MODULE_KINDS = {
    # 35x35 (torchvision InceptionA; the paper's Figure 5 with one 5x5 kept, as both
    # reference implementations do). The width is the pool projection.
    "A": lambda width: (
        ("branch1x1", ((64, 1),)),
        ("branch5x5", ((48, 1), (64, 5))),
        ("branch3x3dbl", ((64, 1), (96, 3), (96, 3))),
        ("branch_pool", (AVG_POOL, (width, 1))),
    ),
    # 35x35 -> 17x17 grid reduction (InceptionB, Figure 10).
    "B": lambda width: (
        ("branch3x3", ((384, 3, 2, "valid"),)),
        ("branch3x3dbl", ((64, 1), (96, 3), (96, 3, 2, "valid"))),
        ("branch_pool", (("max", 2, "valid"),)),
    ),
    # 17x17 with 7x7 factorized into 1x7 and 7x1 (InceptionC, Figure 6). The width is
    # the channels inside the 7x7 branches.
    "C": lambda width: (
        ("branch1x1", ((192, 1),)),
        ("branch7x7", ((width, 1), (width, (1, 7)), (192, (7, 1)))),
        (
            "branch7x7dbl",
            ((width, 1), (width, (7, 1)), (width, (1, 7)), (width, (7, 1)), (192, (1, 7))),
        ),
        ("branch_pool", (AVG_POOL, (192, 1))),
    ),
    # 17x17 -> 8x8 grid reduction (InceptionD).
    "D": lambda width: (
        ("branch3x3", ((192, 1), (320, 3, 2, "valid"))),
        ("branch7x7x3", ((192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2, "valid"))),
        ("branch_pool", (("max", 2, "valid"),)),
    ),
    # 8x8 with expanded 1x3 / 3x1 outputs (InceptionE, Figure 7).
    "E": lambda width: (
        ("branch1x1", ((320, 1),)),
        ("branch3x3", ((384, 1), ((384, (1, 3)), (384, (3, 1))))),
        ("branch3x3dbl", ((448, 1), (384, 3), ((384, (1, 3)), (384, (3, 1))))),
        ("branch_pool", (AVG_POOL, (192, 1))),
    ),
}
# (stage, keras.applications' name of the module output, kind, width). torchvision's names:
# Mixed_5b-5d, Mixed_6a-6e, Mixed_7a-7c.
MODULES = (
    (3, "mixed0", "A", 32),  # (N, 35, 35, 256)
    (3, "mixed1", "A", 64),  # (N, 35, 35, 288)
    (3, "mixed2", "A", 64),  # (N, 35, 35, 288)
    (4, "mixed3", "B", None),  # (N, 17, 17, 768)
    (4, "mixed4", "C", 128),
    (4, "mixed5", "C", 160),
    (4, "mixed6", "C", 160),
    (4, "mixed7", "C", 192),  # (N, 17, 17, 768)
    (5, "mixed8", "D", None),  # (N, 8, 8, 1280)
    (5, "mixed9", "E", None),  # (N, 8, 8, 2048)
    (5, "mixed10", "E", None),  # (N, 8, 8, 2048)
)
AUX_AFTER = "mixed7"
# torchvision's BasicConv2d blocks of the stem and the auxiliary head, and its Inception
# blocks (MODULES in order); each holds a ``conv`` and a ``bn``.
_TORCHVISION = {
    "conv1a": "Conv2d_1a_3x3", "conv2a": "Conv2d_2a_3x3", "conv2b": "Conv2d_2b_3x3",
    "conv3b": "Conv2d_3b_1x1", "conv4a": "Conv2d_4a_3x3",
    "aux_1x1": "AuxLogits.conv0", "aux_5x5": "AuxLogits.conv1",
    **{f"mixed{i}": f"Mixed_{name}" for i, name in enumerate(
        ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"))},
}  # fmt: skip

VARIANTS = {
    # keras.applications.InceptionV3: batch norm without scale (23,851,784 parameters), no
    # dropout before the classifier; its 3x3 average poolings pad "same", which divides by
    # the real pixels of a border window (4 or 6 of 9).
    "keras": dict(norm_scale=False, dropout=0.0, avg_pool_padding="same"),
    # torchvision's inception_v3: batch norm with scale, dropout 0.5, and F.avg_pool2d(x, 3,
    # 1, 1), whose count_include_pad=True divides by 9 everywhere: zero padding, then "valid".
    "torchvision": dict(norm_scale=True, dropout=0.5, avg_pool_padding=1),
}


@keyword_checked
def inception_v3(
    *,
    variant: str = "keras",
    aux_logits: bool = False,
    num_classes: int = 1000,
    input_shape: tuple = (299, 299, 3),
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation="softmax",
    dropout: float | None = None,
    name: str | None = None,
    activation="relu",
    norm: str | None = "batch",
    kernel_regularizer=None,
    noise: float | None = None,
    augmentation=None,
    weights=None,
) -> keras.Model:
    """Inception v3: a convolutional stem, eleven Inception modules, global average pooling.

    ``variant="keras"`` has the weights of ``keras.applications.InceptionV3`` in the same
    order and shapes (23,851,784 parameters at 299x299 with 1000 classes): bias-free
    convolutions, batch norm (eps 1e-3) without scale, no dropout. ``variant="torchvision"``
    is torchvision's ``inception_v3``: batch norm with scale, dropout 0.5, and 3x3 average
    poolings that divide by 9 at the borders too (torchvision's ``count_include_pad``:
    zero padding, then "valid" pooling, where the keras variant pads "same"), so that with
    torchvision's weights it computes what torchvision computes at any input size; with its
    auxiliary head it has 27,161,264 trainable parameters.

    With ``aux_logits=True`` the auxiliary classifier (torchvision's ``InceptionAux``)
    reads ``mixed7``: 5x5/3 average pooling (17 -> 5), 1x1 conv 128, 5x5 conv 768
    ("valid", 5 -> 1), global average pooling and a ``num_classes`` classifier, batch norm
    and ReLU after each convolution. The outputs are then ``[predictions,
    aux_predictions]``; see :func:`cnnzoo.models.auxiliary.compile_with_auxiliary_heads`.
    Like torchvision's, the head needs an input of at least 299 per axis.

    Layer names: stem ``conv1a``, ``conv2a``, ``conv2b`` (stage1, stride 2, 147x147 at
    299), ``pool1``, ``conv3b``, ``conv4a`` (stage2, stride 4, 71x71), then ``pool2`` and
    ``mixed0``-``mixed2`` (stage3, 35x35), ``mixed3``-``mixed7`` (stage4, 17x17),
    ``mixed8``-``mixed10`` (stage5, 8x8), each stage ending in ``stage{i}_out``. The
    concatenation ending each module is named as in keras.applications (``mixed0`` ...
    ``mixed10``), so ``model.get_layer("mixed7")`` is the same feature map; its
    convolutions are ``{module}_{branch}`` with torchvision's branch names (for example
    ``mixed0_branch5x5_1_conv`` is torchvision's ``Mixed_5b.branch5x5_1.conv``), its
    poolings ``{module}_pool``. Head: ``head_avg_pool``, ``head_dropout``,
    ``predictions``; auxiliary head ``aux_pool``, ``aux_1x1``, ``aux_5x5``,
    ``aux_avg_pool``, ``aux_predictions``.

    Args:
        variant: ``"keras"`` or ``"torchvision"``.
        aux_logits: Add the auxiliary classifier (needs ``include_top=True``).
        num_classes: Number of outputs.
        input_shape: A 2-D image of at least 75x75 (299x299 with ``aux_logits``); the
            factorized 1x7/7x1 convolutions are two-dimensional.
        include_top: Whether to add the classifier.
        pooling: ``None``, ``"avg"`` (the default with the top), ``"max"`` or ``"flatten"``.
        classifier_activation: Activation of ``predictions`` and ``aux_predictions``.
        dropout: Dropout before the classifier (default: 0 keras, 0.5 torchvision).
        name: Model name (default ``"inception_v3"``).
        activation: Activation of every layer.
        norm: ``"batch"`` or ``None`` (convolutions then have biases).
        kernel_regularizer: ``"l2"``, ``("l2", 4e-5)``, ...
        noise: Standard deviation of Gaussian input noise in training.
        augmentation: Keras preprocessing layers applied to the input in training.
        weights: Pretrained weights: a tag such as ``"inception_v3.tv_in1k"``
            (``cnnzoo.list_pretrained()``), downloaded into the Keras cache the first
            time; ``"imagenet"``, the first tag that fits the other arguments; or a file
            (``.pth``, ``.safetensors``, a keras.applications ``.h5``, ``.keras``,
            ``.weights.h5``) or a model (:func:`~cnnzoo.transfer.imagenet.load_pretrained`).

    Returns:
        A ``keras.Model``; with ``aux_logits`` its outputs are ``[predictions,
        aux_predictions]``.

    Raises:
        ValueError: For a bad argument, ``aux_logits`` without the top, a 1-D or 3-D input
            shape, or an input too small.

    Example:
        >>> model = inception_v3(input_shape=(75, 75, 3), num_classes=10)
        >>> [model.get_layer(f"stage{i}_out").output.shape[1] for i in range(1, 6)]
        [35, 15, 7, 3, 1]
        >>> model.get_layer("mixed7").output.shape
        (None, 3, 3, 768)
    """
    check_choice("variant", variant, tuple(VARIANTS))
    spec = VARIANTS[variant]
    check_aux_logits(aux_logits, include_top)
    dropout = spec["dropout"] if dropout is None else dropout  # the variant's
    args = common_args(locals(), default_name="inception_v3", head_pooling="avg")
    if len(args.input_shape) != 3:
        raise ValueError(
            "inception_v3 factorizes convolutions into 1x7 and 7x1 (1x3 and 3x1) kernels, "
            "which needs 2-D images, input_shape=(height, width, channels); received "
            f"input_shape={input_shape!r}."
        )

    hint = (
        " Inception v3 needs at least 75x75 (as keras.applications); its auxiliary head "
        "(aux_logits=True) needs 299x299 (as torchvision's)."
    )
    with naming_input_shape(args.input_shape, hint):
        return _build(args, spec, aux_logits)


def _conv(args, norm_scale, x, filters, kernel, name, strides=1, padding="same"):
    return conv_norm_act(
        x,
        filters,
        kernel,
        strides=strides,
        padding=padding,
        norm=args.norm,
        activation=args.activation,
        kernel_regularizer=args.kernel_regularizer,
        norm_scale=norm_scale,
        norm_epsilon=INCEPTION_EPSILON,
        name=name,
    )


def _branch(conv, avg_pool_padding, x, module, branch_name, steps):
    conv_steps = sum(1 for step in steps if not isinstance(step[0], str))
    number = 0
    for step in steps:
        if isinstance(step[0], str):  # pooling
            kind, strides, padding = step
            padding = avg_pool_padding if padding is None else padding
            x = pool(x, kind, 3, strides=strides, padding=padding, name=f"{module}_pool")
            continue
        number += 1
        prefix = f"{module}_{branch_name}" + (f"_{number}" if conv_steps > 1 else "")
        if isinstance(step[0], tuple):  # expanded pair, concatenated
            pair = [
                conv(x, *conv_step, f"{prefix}{part}")
                for part, conv_step in zip("ab", step, strict=True)
            ]
            x = keras.layers.Concatenate(name=f"{module}_{branch_name}")(pair)
        else:
            x = conv(x, *step[:2], prefix, *step[2:])
    return x


def _auxiliary_head(conv, args, x):
    # torchvision's InceptionAux: (N, 17, 17, 768) -> 5x5 -> 1x1 at 299.
    x = pool(x, "avg", 5, strides=3, name="aux_pool")
    x = conv(x, 128, 1, "aux_1x1")
    x = conv(x, 768, 5, "aux_5x5", padding="valid")
    x = keras.layers.GlobalAveragePooling2D(name="aux_avg_pool")(x)
    return prediction_layer(
        args.num_classes, args.classifier_activation, args.kernel_regularizer, "aux_predictions"
    )(x)


def _build(args, spec, aux_logits) -> keras.Model:
    conv = functools.partial(_conv, args, spec["norm_scale"])
    inputs, x = args.model_input()
    aux_outputs = []
    stage = 1
    layers = [(row[0], "stem", row[1:]) for row in STEM]
    layers += [(row[0], "module", row[1:]) for row in MODULES]
    for layer_stage, kind, row in layers:
        if layer_stage != stage:
            x = keras.layers.Identity(name=f"stage{stage}_out")(x)
            stage = layer_stage
        if kind == "stem":
            layer_name, filters, kernel, strides, padding = row
            if filters in ("max", "avg"):
                x = pool(x, filters, kernel, strides=strides, padding=padding, name=layer_name)
            else:
                x = conv(x, filters, kernel, layer_name, strides, padding)
            continue
        module, module_kind, width = row
        branches = MODULE_KINDS[module_kind](width)
        outputs = [
            _branch(conv, spec["avg_pool_padding"], x, module, *branch_spec)
            for branch_spec in branches
        ]
        x = keras.layers.Concatenate(name=module)(outputs)
        if aux_logits and module == AUX_AFTER:
            aux_outputs.append(_auxiliary_head(conv, args, x))
    x = keras.layers.Identity(name=f"stage{stage}_out")(x)
    return args.finish(inputs, x, (), aux_outputs)


def torchvision_module(layer: str) -> str | None:
    """torchvision's name of an ``inception_v3(variant="torchvision")`` layer.

    Example:
        >>> torchvision_module("conv2b_bn"), torchvision_module("mixed0_branch5x5_1_conv")
        ('Conv2d_2b_3x3.bn', 'Mixed_5b.branch5x5_1.conv')
    """
    heads = {"predictions": "fc", "aux_predictions": "AuxLogits.fc"}
    match = re.fullmatch(r"(conv\w+|aux_\dx\d|mixed\d+)_(?:(branch\w+)_)?(conv|bn)", layer)
    if match is None or match[1] not in _TORCHVISION:
        return heads.get(layer)
    branch = f"{match[2]}." if match[2] else ""
    return f"{_TORCHVISION[match[1]]}.{branch}{match[3]}"


FAMILY = Family(
    name="inception",
    builder=inception_v3,
    paper=PAPER,
    year=2015,
    default_input_shape=(299, 299, 3),
    min_input_size=75,
    models=(
        NamedModel(
            inception_v3,
            reference_params=23_851_784,
            reference_source="keras.applications InceptionV3 count_params() (299x299, 1000 "
            "classes)",
            torch_layout=TorchLayout(
                "inception_v3",
                torchvision_module,
                norm_epsilon=INCEPTION_EPSILON,
                builder_args=(("variant", "torchvision"),),
                hint=' Build it with inception_v3(variant="torchvision"), the layout of '
                "torchvision.",
            ),
            notes=(
                "keras.applications-compatible (same weight shapes in the same order; batch norm "
                "without scale, eps 1e-3, but cnnzoo's momentum 0.9 where Keras uses 0.99). Like "
                "both reference implementations, the 35x35 modules keep one 5x5 convolution where "
                "the paper's Figure 5 has two 3x3, and there is no 'BN-auxiliary'. "
                "variant='torchvision' adds the batch-norm scale and dropout 0.5 (27,161,264 "
                "trainable parameters with aux_logits=True) and, as torchvision's 3x3 average "
                "poolings, counts the zero padding at the borders (count_include_pad), where "
                "keras.applications' ('same') does not."
            ),
            keras_weights=KerasApplicationsWeights(
                "InceptionV3",
                "inception_v3",
                "inception_v3",
                "tf",
                hint=' Build it with inception_v3(variant="keras"), the layout of '
                "keras.applications.",
            ),
            pretrained=(
                keras_applications_weights(
                    "inception_v3",
                    "inception_v3",
                    "9a0d58056eeedaa3f26cb7ebd46da564",
                    77.9,
                    mode="tf",
                    licence="Apache-2.0",
                    input_size=299,
                    checksum_without_top="bcbd6486424b2319ff4ef7d526e38f63",
                ),
                torchvision_weights(
                    "inception_v3",
                    "inception_v3_google-0cc3c7bd.pth",
                    77.294,
                    input_size=299,
                    resize_size=342,
                    inputs_in_minus_one_to_one=True,
                    builder_args=(("variant", "torchvision"),),
                ),
            ),
        ),
    ),
    search_model="inception_v3",
    search=SearchDefaults(batch_norm=True),
)
register_family(FAMILY)
