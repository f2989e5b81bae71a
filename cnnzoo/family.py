"""What a model family is, declared once at the end of its model file.

A :class:`Family` holds a family's builder, its named models (:class:`NamedModel`: the
importable function, reference parameter count and source, input sizes, notes, pretrained
weights), how it scales with a width multiplier, its search-space defaults and the small
arguments tests build it with. The registry, the search space and hypermodel, the
ImageNet weight loader, the command line's catalogue and the tests read these fields, so
adding a family is one model file (and one test file).

Nothing here imports Keras: the command line lists models without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cnnzoo.pretrained.tags import PretrainedWeights

# How a reference count is compared: keras.applications' count_params() counts every
# weight; torchvision's num_params leaves out batch norm's moving statistics (buffers in
# PyTorch), so it compares with the Keras model's trainable weights.
COUNTS = ("all", "trainable")


@dataclass(frozen=True)
class KerasApplicationsWeights:
    """A keras.applications model whose ImageNet weights fit a named model layer for layer.

    Attributes:
        application: The keras.applications function, e.g. ``"ResNet50V2"``.
        module: ``keras.applications.<module>.preprocess_input`` preprocesses its input.
        url_folder: The folder of keras.applications' download address.
        preprocessing: ``"caffe"`` (BGR minus the ImageNet mean) or ``"tf"`` (RGB in [-1, 1]).
        head: keras.applications' head layers (``"head_" + name`` in cnnzoo, except
            ``predictions``).
        hint: Appended to a layer mismatch error: how to build the matching layout.
    """

    application: str
    module: str
    url_folder: str
    preprocessing: str
    head: tuple[str, ...] = ("predictions",)
    hint: str = ""

    def file_name(self, architecture: str, include_top: bool) -> str:
        """keras.applications' own name of the file (as ``keras.utils.get_file`` caches it).

        Example:
            >>> KerasApplicationsWeights("VGG16", "vgg16", "vgg16", "caffe").file_name(
            ...     "vgg16", include_top=False)
            'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'
        """
        suffix = "" if include_top else "_notop"
        return f"{architecture}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"


@dataclass(frozen=True)
class TorchLayout:
    """How a PyTorch state dict of a named model's layout names its tensors, for
    :func:`cnnzoo.transfer.port_state_dict` and :func:`cnnzoo.transfer.export_state_dict`.

    A state dict key is ``<module>.<tensor>`` (``layer1.0.conv1.weight``); ``module_name``
    gives, for each cnnzoo layer with weights, the torchvision module that holds them
    (timm's ResNets use the same names).

    Attributes:
        torchvision_model: The ``torchvision.models`` function of this layout.
        module_name: ``cnnzoo layer name -> torchvision module name``, ``None`` for a layer
            the source does not have.
        norm_epsilon: The source's batch-norm epsilon (a state dict does not record it);
            ``None`` without batch norm.
        builder_args: Arguments the named model needs to have this layout, where they differ
            from its defaults (``(("variant", "torchvision"),)`` for Inception v3).
        hint: Appended to a mismatch error: how to build the matching layout.
    """

    torchvision_model: str
    module_name: Callable[[str], str | None]
    norm_epsilon: float | None = 1e-5
    builder_args: tuple[tuple[str, Any], ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class NamedModel:
    """One registered name of a family: an importable function and what is known of it.

    Attributes:
        function: The public factory (``cnnzoo.vgg16``); its ``__name__`` is the
            registered name, and the arguments it passes to the family builder (see
            :func:`cnnzoo.models.common_args.forwards_to`) are its defaults.
        reference_params: Reference parameter count at the default input and 1,000
            classes (or the paper's class count), or ``None`` where no reference exists.
        reference_source: Where ``reference_params`` comes from.
        reference_counts: ``"all"`` (keras.applications' ``count_params()``) or
            ``"trainable"`` (torchvision's ``num_params``, without batch-norm statistics).
        notes: Where this model deviates from the paper.
        default_input_shape: Its default input, where it differs from the family's.
        min_input_size: Its smallest spatial size, where it differs from the family's.
        paper: Its paper, where it differs from the family's (ResNet v2).
        year: The year of ``paper``.
        depth: Its depth, the default of the search's ``depth`` hyperparameter.
        search_depths: The depths the search's ``depth`` hyperparameter chooses from, and
            the registered name each builds (empty: no ``depth`` hyperparameter).
        search_skips: Family hyperparameters that do not apply to this model.
        torch_layout: How a torchvision state dict of its layout names the tensors.
        keras_weights: keras.applications' ImageNet weights of the same layout, if any.
        pretrained: Its pretrained weights (:mod:`cnnzoo.pretrained`), the default first
            (what ``weights="imagenet"`` loads).
    """

    function: Callable[..., Any]
    reference_params: int | None = None
    reference_source: str = ""
    reference_counts: str = "all"
    notes: str = ""
    default_input_shape: tuple[int, ...] | None = None
    min_input_size: int | None = None
    paper: str | None = None
    year: int | None = None
    depth: int | None = None
    search_depths: Mapping[int, str] = field(default_factory=dict)
    search_skips: tuple[str, ...] = ()
    torch_layout: TorchLayout | None = None
    keras_weights: KerasApplicationsWeights | None = None
    pretrained: tuple[PretrainedWeights, ...] = ()

    def __post_init__(self):
        strangers = [entry.name for entry in self.pretrained if entry.model != self.name]
        if strangers:
            raise ValueError(f"Model {self.name!r} declares weights of another model: {strangers}.")
        if self.reference_counts not in COUNTS:
            raise ValueError(
                f"reference_counts must be one of {COUNTS}; received "
                f"reference_counts={self.reference_counts!r}."
            )

    @property
    def name(self) -> str:
        """The registered name: the function's name."""
        return self.function.__name__

    @property
    def defaults(self) -> dict[str, Any]:
        """The arguments the name passes to its family's builder."""
        return dict(getattr(self.function, "forwarded", {}))


@dataclass(frozen=True)
class SearchDefaults:
    """How a family enters a hyperparameter search (:mod:`cnnzoo.tuning.space`).

    Attributes:
        knobs: The family-specific hyperparameters that apply: ``"depth"`` (with
            :attr:`NamedModel.search_depths`), ``"width"`` (with :attr:`Family.scale_width`),
            ``"kernel_size"`` and ``"padding"``.
        kernel_size: Default kernel size of every convolution.
        padding: Default padding of every convolution.
        pooling: The head's default pooling: ``"flatten"`` or ``"avg"`` (global pooling
            networks search ``"avg"`` and ``"max"`` only).
        dropout: Default dropout before the classifier.
        batch_norm: Whether the family normalizes by default (``norm="batch"`` in a named
            model's defaults turns it on for that model).
    """

    knobs: tuple[str, ...] = ()
    kernel_size: int = 3
    padding: str = "same"
    pooling: str = "avg"
    dropout: float = 0.0
    batch_norm: bool = False


@dataclass(frozen=True)
class Family:
    """Everything that is true of a model family, in one value.

    Attributes:
        name: The family's name (``"vgg"``), also what a search takes for its usual model.
        builder: The configurable factory every named model calls (``cnnzoo.vgg``).
        paper: Citation of the paper.
        year: Year of the paper.
        default_input_shape: The builder's default input.
        min_input_size: Smallest spatial size (every axis) that builds with the defaults.
        models: The registered names, in the order the documentation lists them.
        search_model: The named model a search over the family starts from.
        search: Search-space defaults.
        scale_width: ``(defaults, factor) -> builder arguments`` that scale every
            convolution and hidden layer by ``factor`` (``None``: no ``width`` knob).
        test_kwargs: Builder arguments that keep a test model small beside its minimum
            input (a narrow head, say).
    """

    name: str
    builder: Callable[..., Any]
    paper: str
    year: int
    default_input_shape: tuple[int, ...]
    min_input_size: int
    models: tuple[NamedModel, ...]
    search_model: str
    search: SearchDefaults = SearchDefaults()
    scale_width: Callable[[Mapping[str, Any], float], dict[str, Any]] | None = None
    test_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        names = [model.name for model in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"Family {self.name!r} names a model twice: {names}.")
        if self.search_model not in names:
            raise ValueError(
                f"search_model must be one of the family's models {names}; received "
                f"search_model={self.search_model!r}."
            )

    def named(self, name: str) -> NamedModel:
        """The :class:`NamedModel` called ``name``."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)


def scaled(values, factor: float, multiple: int = 1) -> tuple[int, ...]:
    """Widths multiplied by ``factor``, rounded to a multiple of ``multiple`` (at least it).

    Example:
        >>> scaled((64, 128, 256), 0.5), scaled((96, 256), 0.3, multiple=2)
        ((32, 64, 128), (28, 76))
    """
    return tuple(max(multiple, multiple * round(v * factor / multiple)) for v in values)
