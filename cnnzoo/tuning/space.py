"""The search space: one table of hyperparameters, their defaults and the families they
apply to, and the ``fixed``/``space`` overrides users give by name."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cnnzoo.augment import PRESETS
from cnnzoo.family import NamedModel, SearchDefaults
from cnnzoo.registry import families, model_family, model_info, named_model

# Presets that change colours need RGB; the others suit any channel count.
GRAY_PRESETS = tuple(name for name, (_, _, needs_rgb) in PRESETS.items() if not needs_rgb)


@dataclass(frozen=True)
class Knob:
    """One tunable hyperparameter.

    Attributes:
        name: The name users fix or restrict it by, and the name in ``hp.values``.
        group: ``"architecture"``, ``"training"`` or ``"finetune"``.
        values: The choices, or ``(low, high)`` for a range (``kind`` says which).
        kind: ``"choice"``, ``"int"`` or ``"float"``.
        default: The value a build with no tuned value takes (callable: of the model name).
        sampling: ``"linear"`` or ``"log"`` for ranges (and for ranges users give).
        step: Step of a range (``None``: continuous).
        per_family: Whether it applies only to the families that declare it
            (:attr:`cnnzoo.family.SearchDefaults.knobs`); the others apply to every family.
        help: What it changes, for the documentation table.
    """

    name: str
    group: str
    values: tuple
    kind: str = "choice"
    default: Any = None
    sampling: str = "linear"
    step: float | None = None
    per_family: bool = False
    help: str = ""

    def default_for(self, model: str) -> Any:
        return self.default(model) if callable(self.default) else self.default

    def applies_to(self, model: str) -> bool:
        """Whether the knob tunes ``model``: its family declares it and the model keeps it."""
        if not self.per_family:
            return True
        search, named = _declared(model)
        return self.name in search.knobs and self.name not in named.search_skips

    def families(self) -> tuple[str, ...] | None:
        """The families the knob applies to (``None``: every family)."""
        if not self.per_family:
            return None
        return tuple(family.name for family in families() if self.name in family.search.knobs)


def _declared(model: str) -> tuple[SearchDefaults, NamedModel | None]:
    """The search defaults and declaration of ``model``; a model registered on its own
    (``register_model``, no family) gets the defaults and only the shared knobs."""
    if model_info(model).family not in {family.name for family in families()}:
        return SearchDefaults(), None
    return model_family(model).search, named_model(model)


def depth_choices(model: str) -> tuple[int, ...]:
    """The depths the ``depth`` knob chooses from for ``model`` (its family declares them).

    Example:
        >>> depth_choices("resnet20"), depth_choices("vgg16")
        ((20, 32, 44, 56), (11, 13, 16, 19))
    """
    named = _declared(model)[1]
    return tuple(named.search_depths) if named else ()


def _default_depth(model: str) -> int | None:
    depth, choices = _declared(model)[1].depth, depth_choices(model)
    return depth if depth in choices else (choices or (None,))[0]


def _default_norm(model: str) -> bool:
    search, named = _declared(model)
    return search.batch_norm or (named is not None and named.defaults.get("norm") == "batch")


def _default_dropout(model: str) -> float:
    return _declared(model)[0].dropout


def _default_pooling(model: str) -> str:
    return _declared(model)[0].pooling


KNOBS: tuple[Knob, ...] = (
    # architecture
    Knob("depth", "architecture", (), default=_default_depth, per_family=True,
         help="VGG: 11, 13, 16 or 19 layers (the paper's A, B, D, E); ResNet: 20-56 (CIFAR "
              "stem, 6n + 2) or 18, 34, 50 (ImageNet stem). Default: the model's own."),
    Knob("width", "architecture", (0.25, 0.5, 1.0, 2.0), default=1.0, per_family=True,
         help="Multiplier of every convolution's filters and hidden dense units."),
    Knob("kernel_size", "architecture", (3, 5), default=lambda m: _declared(m)[0].kernel_size,
         per_family=True, help="Kernel size of every convolution."),
    Knob("padding", "architecture", ("valid", "same"),
         default=lambda m: _declared(m)[0].padding, per_family=True,
         help="Padding of every convolution."),
    Knob("pooling", "architecture", ("flatten", "avg", "max"), default=_default_pooling,
         help="How the head turns the last feature map into a vector."),
    Knob("activation", "architecture", ("relu", "elu", "gelu", "swish", "tanh"), default="relu",
         help="Activation of every layer."),
    Knob("batch_norm", "architecture", (False, True), default=_default_norm,
         help="Batch normalization after every convolution."),
    Knob("dropout", "architecture", (0.0, 0.5), kind="float", step=0.1, default=_default_dropout,
         help="Dropout before the classifier (and after each hidden dense layer)."),
    Knob("l2", "architecture", (0.0, 1e-5, 1e-4, 1e-3), default=0.0,
         help="L2 penalty on every kernel (0: none)."),
    Knob("augmentation", "architecture", ("none", "mirror", "standard", "strong"),
         default="none", help="Augmentation preset (cnnzoo.augment), in training only."),
    Knob("augmentation_strength", "architecture", (0.5, 1.5), kind="float", step=0.25,
         default=1.0, help="Multiplier of every augmentation magnitude (with a preset)."),
    # training
    Knob("optimizer", "training", ("adam", "adamw", "sgd", "rmsprop"), default="adam",
         help="Keras optimizer (SGD with Nesterov momentum 0.9)."),
    Knob("learning_rate", "training", (1e-4, 1e-2), kind="float", sampling="log", default=1e-3,
         help="Initial learning rate."),
    Knob("weight_decay", "training", (0.0, 1e-5, 1e-4, 1e-3), default=0.0,
         help="Decoupled weight decay of the optimizer (0: none)."),
    Knob("label_smoothing", "training", (0.0, 0.05, 0.1), default=0.0,
         help="Label smoothing of the cross-entropy."),
    Knob("batch_size", "training", (16, 32, 64, 128), default=32, help="Batch size."),
    Knob("schedule", "training", ("constant", "cosine"), default="constant",
         help="Learning-rate schedule over the trial's epochs."),
    # fine-tuning (with pretrained=)
    Knob("unfreeze_stages", "finetune", (0, 1, 2, 3), default=2,
         help="Last stages trained in phase 2 of fine-tuning (0: the head only)."),
    Knob("finetune_learning_rate", "finetune", (1e-5, 1e-3), kind="float", sampling="log",
         default=1e-4, help="Learning rate of phase 2."),
    Knob("layer_decay", "finetune", (1.0, 0.8, 0.65, 0.5), default=1.0,
         help="Layer-wise learning rates: each stage learns this factor times slower than "
              "the one above it, the head at the phase's rate (1: one rate)."),
)  # fmt: skip
KNOB_NAMES = tuple(knob.name for knob in KNOBS)
# With pretrained weights the architecture is the saved one: only the head's dropout and
# the augmentation still apply.
PRETRAINED_ARCHITECTURE = ("dropout", "augmentation", "augmentation_strength")


def knob(name: str) -> Knob:
    """The :class:`Knob` named ``name``; a ``ValueError`` lists the known names."""
    for item in KNOBS:
        if item.name == name:
            return item
    close = difflib.get_close_matches(str(name), KNOB_NAMES, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"Unknown hyperparameter {name!r}.{hint} Known hyperparameters: {', '.join(KNOB_NAMES)}."
    )


def knobs_for(model: str, *, pretrained: bool = False, channels: int = 3) -> tuple[Knob, ...]:
    """The knobs that apply to ``model`` (a registered name), choices narrowed to it.

    Example:
        >>> [item.name for item in knobs_for("lenet5_modern")][:4]
        ['width', 'kernel_size', 'padding', 'pooling']
    """
    result = []
    for item in KNOBS:
        if not item.applies_to(model):
            continue
        if item.group == "finetune" and not pretrained:
            continue
        if pretrained and item.group == "architecture" and item.name not in PRETRAINED_ARCHITECTURE:
            continue
        if item.name == "depth":
            item = Knob(**{**vars(item), "values": depth_choices(model)})
        if item.name == "pooling" and _default_pooling(model) == "avg":
            item = Knob(**{**vars(item), "values": ("avg", "max")})  # global pooling nets
        if item.name == "augmentation" and channels != 3:
            item = Knob(
                **{**vars(item), "values": tuple(v for v in item.values if v in GRAY_PRESETS)}
            )
        result.append(item)
    return tuple(result)


def describe_space(model: str | None = None) -> list[dict[str, Any]]:
    """The table of hyperparameters: name, group, values or range, default, families, help.

    Example:
        >>> rows = {row["name"]: row for row in describe_space()}
        >>> rows["learning_rate"]["values"], rows["learning_rate"]["sampling"]
        ('0.0001 to 0.01', 'log')
    """
    items = knobs_for(model) if model is not None else KNOBS
    rows = []
    for item in items:
        if item.kind == "choice":
            values = ", ".join(map(str, item.values)) or "per model"
        else:
            values = f"{item.values[0]:g} to {item.values[1]:g}"
        default = item.default_for(model) if model is not None else item.default
        rows.append(
            {
                "name": item.name, "group": item.group, "values": values,
                "sampling": item.sampling, "step": item.step,
                "default": "per model" if callable(default) else default,
                "families": ", ".join(item.families() or ("all",)), "help": item.help,
            }
        )  # fmt: skip
    return rows


def check_overrides(
    fixed: Mapping[str, Any] | None, space: Mapping[str, Any] | None, knobs: Sequence[Knob]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checks ``fixed`` and ``space`` against the knobs of one model.

    ``fixed`` maps a name to the one value it takes. ``space`` maps a name to a list of
    choices or a ``(low, high)`` range (sampled as the knob samples: the learning rates on
    a log scale). A name may not be in both.

    Raises:
        ValueError: For an unknown name (with the known ones), a name that does not apply
            to this model, a name in both, or a malformed range.
    """
    fixed, space = dict(fixed or {}), dict(space or {})
    names = {item.name for item in knobs}
    for argument, overrides in (("fixed", fixed), ("space", space)):
        for name in overrides:
            knob(name)  # unknown anywhere: the list of known names
            if name not in names:
                raise ValueError(
                    f"{argument}: hyperparameter {name!r} does not apply to this model. "
                    f"Its hyperparameters: {', '.join(sorted(names))}."
                )
    both = sorted(set(fixed) & set(space))
    if both:
        raise ValueError(f"Hyperparameters {both} are in both fixed and space; give each once.")
    for name, value in space.items():
        _check_range(name, value)
    return fixed, space


def _check_range(name: str, value) -> None:
    if isinstance(value, tuple):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if len(value) != 2 or not numbers or not value[0] < value[1]:
            raise ValueError(
                f"space[{name!r}] as a tuple must be a (low, high) range of numbers with "
                f"low < high; received {value!r}. Give a list for choices."
            )
    elif not isinstance(value, list) or not value:
        raise ValueError(
            f"space[{name!r}] must be a (low, high) tuple or a non-empty list of choices; "
            f"received {value!r}."
        )


def declare(hp, item: Knob, model: str, fixed: Mapping, space: Mapping) -> Any:
    """Declares ``item`` on ``hp`` (fixed, restricted or as in the table); returns its value."""
    if item.name in fixed:
        return hp.Fixed(item.name, fixed[item.name])
    values, kind = item.values, item.kind
    override = space.get(item.name)
    if isinstance(override, list):
        values, kind = tuple(override), "choice"
    elif isinstance(override, tuple):
        integers = all(isinstance(v, int) for v in override)
        values, kind = override, "int" if integers and item.kind != "float" else "float"
    default = item.default_for(model)
    if (
        kind == "choice"
        and set(values) == {False, True}
        and all(isinstance(v, bool) for v in values)
    ):
        return hp.Boolean(item.name, default=bool(default))
    if kind == "choice":
        return hp.Choice(item.name, list(values), default=default if default in values else None)
    low, high = values
    inside = default if default is not None and low <= default <= high else None
    if kind == "int":
        return hp.Int(item.name, low, high, sampling=item.sampling, default=inside)
    step = None if item.sampling == "log" else item.step
    return hp.Float(item.name, low, high, step=step, sampling=item.sampling, default=inside)
