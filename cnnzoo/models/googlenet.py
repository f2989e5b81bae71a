"""GoogLeNet, Inception v1 (Szegedy et al., 2014): the paper's network and torchvision's."""

from __future__ import annotations

import re

import keras

from cnnzoo.checks import (
    check_choice,
    check_positive_int,
)
from cnnzoo.family import Family, NamedModel, SearchDefaults, TorchLayout
from cnnzoo.layers import LocalResponseNormalization, conv_norm_act, inception_module, pool
from cnnzoo.layers.head import prediction_layer
from cnnzoo.layers.inception import INCEPTION_EPSILON
from cnnzoo.models.auxiliary import check_aux_logits
from cnnzoo.models.common_args import (
    common_args,
    forwards_to,
    keyword_checked,
    naming_input_shape,
)
from cnnzoo.pretrained.tags import torchvision_weights
from cnnzoo.registry import register_family

PAPER = "Szegedy et al. Going Deeper with Convolutions. arXiv:1409.4842, 2014"

# The paper's Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj per module,
# grouped by stage (output stride 8, 16, 32). Output channels in the comments.
MODULES = {
    3: {
        "3a": (64, 96, 128, 16, 32, 32),  # 256
        "3b": (128, 128, 192, 32, 96, 64),  # 480
    },
    4: {
        "4a": (192, 96, 208, 16, 48, 64),  # 512
        "4b": (160, 112, 224, 24, 64, 64),  # 512
        "4c": (128, 128, 256, 24, 64, 64),  # 512
        "4d": (112, 144, 288, 32, 64, 64),  # 528
        "4e": (256, 160, 320, 32, 128, 128),  # 832
    },
    5: {
        "5a": (256, 160, 320, 32, 128, 128),  # 832
        "5b": (384, 192, 384, 48, 128, 128),  # 1024
    },
}
# Section 5: the auxiliary classifiers read the outputs of 4a and 4d.
AUX_AFTER = {"4a": "aux1", "4d": "aux2"}
AUX_FILTERS, AUX_UNITS, AUX_DROPOUT = 128, 1024, 0.7
# The first max pooling of each stage (pool1 to pool4).
STAGE_POOL_STRIDE = 2

VARIANTS = {
    # Table 1 and section 5: biases, no batch norm, true 5x5 branches, LRN after the first
    # pooling and after conv2 (Figure 3), dropout 0.4 before the classifier. The stage
    # poolings pad "same", which equals Caffe's ceil mode at even sizes (224 -> 112 -> 56
    # -> 28 -> 14 -> 7) and keeps one position more at odd ones.
    "paper": dict(norm=None, kernel_5x5=5, lrn=True, pool4_size=3, dropout=0.4, pool="same"),
    # torchvision's googlenet (weights ported from TensorFlow): batch norm with eps 1e-3 and
    # bias-free convolutions, no LRN, dropout 0.2.
    "torchvision": dict(
        norm="batch",
        kernel_5x5=3,  # torchvision's known deviation (pytorch/vision#906): a 3x3 "5x5" branch
        lrn=False,
        pool4_size=2,  # torchvision's maxpool4 is 2x2/2; the paper's is 3x3/2
        dropout=0.2,
        pool="ceil",  # torchvision's ceil_mode=True: 97 -> 49 -> 24 where "same" gives 25
    ),
}
DEFAULT_NAMES = {"paper": "googlenet", "torchvision": "googlenet_bn"}
# LRN as in the BVLC Caffe GoogLeNet (size 5, alpha 1e-4, beta 0.75, k 1); Caffe divides
# alpha by the window size, cnnzoo's layer does not, hence 1e-4 / 5.
LRN_ARGS = dict(size=5, alpha=1e-4 / 5, beta=0.75, bias=1.0)
VARIANT_NORM = "variant"


@keyword_checked
def googlenet(
    *,
    variant: str = "paper",
    aux_logits: bool = False,
    num_classes: int = 1000,
    input_shape: tuple = (224, 224, 3),
    lrn: bool | None = None,
    kernel_5x5: int | None = None,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation="softmax",
    dropout: float | None = None,
    name: str | None = None,
    activation="relu",
    norm: str | None = VARIANT_NORM,
    kernel_regularizer=None,
    noise: float | None = None,
    augmentation=None,
    weights=None,
) -> keras.Model:
    """GoogLeNet (Inception v1): a stem, nine Inception modules, global average pooling.

    ``variant="paper"`` follows Table 1 and Figure 3: conv 7x7/2, max pool 3x3/2, LRN,
    conv 1x1 64, conv 3x3 192, LRN, max pool, modules 3a and 3b, max pool, 4a to 4e, max
    pool, 5a and 5b, 7x7 average pooling (global here), dropout 0.4 and the classifier;
    convolutions have biases and no batch norm. ``variant="torchvision"`` is torchvision's
    ``googlenet`` (6,624,904 trainable parameters): batch norm (eps 1e-3) after every
    bias-free convolution, no LRN, a 3x3 kernel in the "5x5" branch, a 2x2/2 last max
    pooling, dropout 0.2, and stage poolings in PyTorch's ceil mode (``pool(...,
    padding="ceil")``), so that with torchvision's weights it computes what torchvision
    computes at any input size; the paper variant pads them "same" (the same at even sizes).

    With ``aux_logits=True`` the two auxiliary classifiers of section 5 read the outputs of
    4a and 4d: 5x5/3 average pooling (14 -> 4 at 224), 1x1 conv 128 (with batch norm in
    the torchvision variant) and ReLU, flatten, FC 1024 and ReLU, dropout 0.7 and a
    ``num_classes`` classifier. The model then has three outputs, ``[predictions,
    aux1_predictions, aux2_predictions]``; train it with
    :func:`cnnzoo.models.auxiliary.compile_with_auxiliary_heads` (loss weight 0.3 per
    auxiliary head, as in the paper) and predict with
    :func:`cnnzoo.models.auxiliary.without_auxiliary_heads`. The heads need a fixed input
    of at least 65 per axis (79 in the torchvision variant, whose ceil-mode poolings give
    4x4 where "same" gives 5x5 at 65).

    Stages by output stride, each ending in ``stage{i}_out``: stage1 ``conv1`` (stride 2,
    112x112x64 at 224); stage2 ``pool1``, ``lrn1``, ``conv2_reduce`` (1x1), ``conv2``
    (3x3), ``lrn2`` (stride 4, 56x56x192); stage3 ``pool2``, ``inception3a``,
    ``inception3b`` (28x28x480); stage4 ``pool3``, ``inception4a`` to ``inception4e``
    (14x14x832); stage5 ``pool4``, ``inception5a``, ``inception5b`` (7x7x1024). Module
    layers are named as in :func:`cnnzoo.layers.inception_module`; torchvision's
    ``conv2``/``conv3`` are ``conv2_reduce``/``conv2`` here. Head: ``head_avg_pool``,
    ``head_dropout``, ``predictions``; auxiliary heads ``aux{k}_pool``, ``aux{k}_1x1``,
    ``aux{k}_flatten``, ``aux{k}_fc``, ``aux{k}_dropout``, ``aux{k}_predictions``.

    Args:
        variant: ``"paper"`` or ``"torchvision"``.
        aux_logits: Add the two auxiliary classifiers (needs ``include_top=True``).
        num_classes: Number of outputs.
        input_shape: At least 17 per axis (15 for the torchvision variant, as torchvision's;
            65 with ``aux_logits``); any channel count; 1-D
            and 3-D shapes build 1-D and 3-D networks.
        lrn: Local response normalization in the stem (default: the variant's).
        kernel_5x5: Kernel of the "5x5" branches (default: the variant's 5 or 3).
        include_top: Whether to add the classifier.
        pooling: ``None``, ``"avg"`` (the default with the top), ``"max"`` or ``"flatten"``.
        classifier_activation: Activation of ``predictions`` and the auxiliary outputs.
        dropout: Dropout before the classifier (default: 0.4 paper, 0.2 torchvision).
        name: Model name (default ``"googlenet"`` or ``"googlenet_bn"``).
        activation: Activation of every layer.
        norm: ``None`` or ``"batch"``; by default the variant's (None for the paper,
            ``"batch"`` for torchvision). Convolutions have biases only without it.
        kernel_regularizer: ``"l2"``, ``("l2", 2e-4)``, ...
        noise: Standard deviation of Gaussian input noise in training.
        augmentation: Keras preprocessing layers applied to the input in training.

    Returns:
        A ``keras.Model``; with ``aux_logits`` its outputs are ``[predictions,
        aux1_predictions, aux2_predictions]``.

    Raises:
        ValueError: For a bad argument, ``aux_logits`` without the top, or an input too
            small for the four poolings (or for the auxiliary heads).

    Example:
        >>> model = googlenet(input_shape=(64, 64, 3), num_classes=10)
        >>> [model.get_layer(f"stage{i}_out").output.shape[1:] for i in (3, 4, 5)]
        [(8, 8, 480), (4, 4, 832), (2, 2, 1024)]
        >>> googlenet(input_shape=(96, 96, 3), num_classes=10, aux_logits=True).output_names
        ['predictions', 'aux1_predictions', 'aux2_predictions']
    """
    check_choice("variant", variant, tuple(VARIANTS))
    spec = VARIANTS[variant]
    check_choice("norm", norm, (VARIANT_NORM, None, "batch"))
    check_aux_logits(aux_logits, include_top)
    # The variant's defaults of the shared arguments.
    dropout = spec["dropout"] if dropout is None else dropout
    norm = spec["norm"] if norm == VARIANT_NORM else norm
    args = common_args(locals(), default_name=DEFAULT_NAMES[variant], head_pooling="avg")
    if aux_logits and None in args.input_shape[:-1]:
        raise ValueError(
            "aux_logits=True flattens a pooled map, which needs every spatial size; "
            f"received input_shape={args.input_shape!r}."
        )
    lrn = spec["lrn"] if lrn is None else lrn
    if not isinstance(lrn, bool):
        raise ValueError(f"lrn must be True or False; received lrn={lrn!r}.")
    kernel_5x5 = spec["kernel_5x5"] if kernel_5x5 is None else kernel_5x5
    check_positive_int("kernel_5x5", kernel_5x5)

    hint = (
        " GoogLeNet halves the input five times and needs at least 17 per axis (15 for "
        "variant='torchvision', whose poolings keep a last partial window); the auxiliary "
        "heads (aux_logits=True) need at least 65 (79 for variant='torchvision')."
    )
    with naming_input_shape(args.input_shape, hint):
        return _build(args, spec, lrn, kernel_5x5, aux_logits)


def _conv(args, x, filters, kernel, name, **kwargs):
    return conv_norm_act(
        x,
        filters,
        kernel,
        norm=args.norm,
        activation=args.activation,
        kernel_regularizer=args.kernel_regularizer,
        norm_epsilon=INCEPTION_EPSILON,
        name=name,
        **kwargs,
    )


def _auxiliary_head(args, x, prefix):
    # Section 5; at 224: (N, 14, 14, 512) -> (N, 4, 4, 512) -> (N, 4, 4, 128) -> 2048.
    x = pool(x, "avg", 5, strides=3, name=f"{prefix}_pool")
    x = _conv(args, x, AUX_FILTERS, 1, f"{prefix}_1x1")
    x = keras.layers.Flatten(name=f"{prefix}_flatten")(x)
    x = keras.layers.Dense(
        AUX_UNITS, kernel_regularizer=args.kernel_regularizer, name=f"{prefix}_fc"
    )(x)
    x = keras.layers.Activation(args.activation, name=f"{prefix}_fc_act")(x)
    x = keras.layers.Dropout(AUX_DROPOUT, name=f"{prefix}_dropout")(x)
    return prediction_layer(
        args.num_classes,
        args.classifier_activation,
        args.kernel_regularizer,
        f"{prefix}_predictions",
    )(x)


def _stem(args, x, lrn, pool_padding):
    # Stage 1, stride 2. The 3-pixel padding of Caffe and torchvision (an explicit
    # padding keeps their alignment, where "same" would pad 2 before and 3 after).
    x = _conv(args, x, 64, 7, "conv1", strides=2, padding=3)
    x = keras.layers.Identity(name="stage1_out")(x)  # (N, 112, 112, 64)
    # Stage 2, stride 4.
    x = pool(x, "max", 3, strides=STAGE_POOL_STRIDE, padding=pool_padding, name="pool1")
    if lrn:
        x = LocalResponseNormalization(**LRN_ARGS, name="lrn1")(x)
    x = _conv(args, x, 64, 1, "conv2_reduce")
    x = _conv(args, x, 192, 3, "conv2")
    if lrn:
        x = LocalResponseNormalization(**LRN_ARGS, name="lrn2")(x)
    return keras.layers.Identity(name="stage2_out")(x)  # (N, 56, 56, 192)


def _build(args, spec, lrn, kernel_5x5, aux_logits) -> keras.Model:
    inputs, x = args.model_input()
    x = _stem(args, x, lrn, spec["pool"])
    aux_outputs = []
    # Stages 3-5, strides 8, 16, 32: (N, 28, 28, 480), (N, 14, 14, 832), (N, 7, 7, 1024).
    for stage, modules in MODULES.items():
        pool_size = spec["pool4_size"] if stage == 5 else 3
        x = pool(
            x,
            "max",
            pool_size,
            strides=STAGE_POOL_STRIDE,
            padding=spec["pool"],
            name=f"pool{stage - 1}",
        )
        for module, widths in modules.items():
            x = inception_module(
                x,
                *widths,
                kernel_5x5=kernel_5x5,
                norm=args.norm,
                activation=args.activation,
                kernel_regularizer=args.kernel_regularizer,
                norm_epsilon=INCEPTION_EPSILON,
                name=f"inception{module}",
            )
            if aux_logits and module in AUX_AFTER:
                aux_outputs.append(_auxiliary_head(args, x, AUX_AFTER[module]))
        x = keras.layers.Identity(name=f"stage{stage}_out")(x)
    return args.finish(inputs, x, (), aux_outputs)


# torchvision's modules: its conv2 and conv3 are conv2_reduce and conv2 here, its branch1
# to branch4 (Sequential blocks) the module's 1x1, 3x3, 5x5 and pool branches.
_TORCHVISION_STEM = {"conv1": "conv1", "conv2_reduce": "conv2", "conv2": "conv3"}
_TORCHVISION_BRANCHES = {
    "1x1": "branch1",
    "3x3_reduce": "branch2.0",
    "3x3": "branch2.1",
    "5x5_reduce": "branch3.0",
    "5x5": "branch3.1",
    "pool_proj": "branch4.1",
}
_TORCHVISION_AUX = {"1x1_conv": "conv.conv", "1x1_bn": "conv.bn", "fc": "fc1", "predictions": "fc2"}


def torchvision_module(layer: str) -> str | None:
    """torchvision's name of a ``googlenet_bn`` layer (each BasicConv2d holds a ``conv`` and
    a ``bn``).

    Example:
        >>> [torchvision_module(name) for name in ("conv2_bn", "inception4a_5x5_conv",
        ...                                        "aux2_fc", "predictions")]
        ['conv3.bn', 'inception4a.branch3.1.conv', 'aux2.fc1', 'fc']
    """
    if layer == "predictions":
        return "fc"
    match = re.fullmatch(r"(conv\d\w*)_(conv|bn)", layer)
    if match and match[1] in _TORCHVISION_STEM:
        return f"{_TORCHVISION_STEM[match[1]]}.{match[2]}"
    match = re.fullmatch(r"(inception\d[a-e])_(\w+)_(conv|bn)", layer)
    if match and match[2] in _TORCHVISION_BRANCHES:
        return f"{match[1]}.{_TORCHVISION_BRANCHES[match[2]]}.{match[3]}"
    match = re.fullmatch(r"(aux\d)_(\w+)", layer)
    if match and match[2] in _TORCHVISION_AUX:
        return f"{match[1]}.{_TORCHVISION_AUX[match[2]]}"
    return None


_NOTES_COMMON = (
    "The 7x7 average pooling is global average pooling (the same at 224). Auxiliary heads "
    "(aux_logits=True, section 5) pool 5x5/3 as the paper; torchvision pools adaptively to "
    "4x4, which has the same parameters (13,004,888 trainable with both heads at 224) but "
    "other windows."
)


@forwards_to(googlenet, defaults={"variant": "torchvision"})
def googlenet_bn(**kwargs) -> keras.Model:
    """GoogLeNet as torchvision's ``googlenet``: batch norm after bias-free convolutions,
    no LRN, dropout 0.2, a 3x3 kernel in the "5x5" branch. See :func:`googlenet`.

    Example:
        >>> googlenet_bn(input_shape=(32, 32, 3), include_top=False, pooling="avg").output_shape
        (None, 1024)
    """
    return googlenet(**kwargs)


FAMILY = Family(
    name="googlenet",
    builder=googlenet,
    paper=PAPER,
    year=2014,
    default_input_shape=(224, 224, 3),
    min_input_size=17,
    models=(
        NamedModel(
            googlenet,
            reference_params=6_998_552,
            reference_source="computed from Table 1's widths with biases and 5x5 branches at "
            "1000 classes (the table's own parameter column, about 6.8M, is rounded and has "
            "errors)",
            notes=(
                "Table 1 with true 5x5 branches, conv biases, no batch norm, LRN after pool1 and "
                "conv2 (size 5, alpha 1e-4 per Caffe's convention, beta 0.75, k 1: BVLC's "
                "values, the paper gives none), dropout 0.4. Stage max poolings pad 'same', "
                "which equals Caffe's ceil mode at even sizes (224 -> 112 -> 56 -> 28 -> 14 -> "
                "7). " + _NOTES_COMMON
            ),
        ),
        NamedModel(
            googlenet_bn,
            reference_params=6_624_904,
            reference_source="torchvision googlenet num_params, no auxiliary heads",
            reference_counts="trainable",
            min_input_size=15,  # ceil mode keeps a partial window: 15 -> 8 -> 4 -> 2 -> 1 -> 1
            torch_layout=TorchLayout(
                "googlenet",
                torchvision_module,
                norm_epsilon=1e-3,
                hint=" torchvision's googlenet is googlenet_bn() (variant='torchvision').",
            ),
            notes=(
                "torchvision's googlenet: batch norm (eps 1e-3) after bias-free convolutions, no "
                "LRN, dropout 0.2, a 3x3 kernel in the '5x5' branch (torchvision's known "
                "deviation, pytorch/vision#906) and a 2x2/2 last max pooling (3x3/2 in the "
                "paper). Stage max poolings in torchvision's ceil mode (97 -> 49 -> 24, where "
                "'same' gives 25), so that it computes what torchvision's does at any input "
                "size. " + _NOTES_COMMON
            ),
            pretrained=(
                torchvision_weights(
                    "googlenet_bn",
                    "googlenet-1378be20.pth",
                    69.778,
                    inputs_in_minus_one_to_one=True,
                ),
            ),
        ),
    ),
    search_model="googlenet",
    search=SearchDefaults(dropout=0.4),
)
register_family(FAMILY)
