"""Layer-wise learning-rate decay for fine-tuning (discriminative rates, as in ULMFiT and
timm's ``layer_decay``): the head learns at the base rate, each stage below it at
``layer_decay`` times the rate of the stage above, the stem the slowest.

Built on Keras' own ``keras.optimizers.MultiOptimizer``: one copy of the optimizer per
group of layers, its learning rate (or schedule) scaled by the group's factor. So it is
any Keras optimizer, on every backend, and the update itself is scaled (for Adam a
scaled gradient would cancel out); the groups and factors are in the optimizer's config,
so a saved model, its optimizer state included, reloads with them.
"""

from __future__ import annotations

import re

import keras

from cnnzoo.transfer.features import stage_outputs, upstream_layers

HEAD = "head"


def check_layer_decay(layer_decay) -> float:
    """``layer_decay`` as a float if it is a number in (0, 1] (1: one rate for all layers).

    Example:
        >>> check_layer_decay(0.7)
        0.7
        >>> check_layer_decay(0)
        Traceback (most recent call last):
        ...
        ValueError: layer_decay must be a number in (0, 1] (1: one learning rate for every \
layer); received layer_decay=0.
    """
    if (
        isinstance(layer_decay, bool)
        or not isinstance(layer_decay, (int, float))
        or not 0 < layer_decay <= 1
    ):
        raise ValueError(
            "layer_decay must be a number in (0, 1] (1: one learning rate for every layer); "
            f"received layer_decay={layer_decay!r}."
        )
    return float(layer_decay)


def layer_groups(model: keras.Model) -> dict[str, tuple[str, ...]]:
    """The layers with weights of ``model`` by learning-rate group, shallowest first.

    The groups follow the stage outputs that freezing goes by: ``"stem"`` (layers named
    ``stem`` or ``stem_*``, where a family has one), ``"stage1"`` ... ``"stageN"`` (the
    layers ``stage{i}_out`` depends on and ``stage{i-1}_out`` does not: GoogLeNet's
    ``inception3a_*`` as ResNet's ``stage2_block1_*``) and ``"head"`` (every layer after
    the last stage output: pooling, hidden layers, ``predictions``).

    Args:
        model: A cnnzoo model (any functional model with ``stage{i}_out`` layers).

    Returns:
        Group name to layer names, in the model's layer order; a group without weights
        is left out.

    Raises:
        ValueError: For a model without ``stage{i}_out`` layers.

    Example:
        >>> from cnnzoo import resnet20
        >>> groups = layer_groups(resnet20(input_shape=(32, 32, 3), num_classes=10))
        >>> list(groups), groups["stem"], groups["head"]
        (['stem', 'stage1', 'stage2', 'stage3', 'head'], ('stem_conv', 'stem_bn'), ('predictions',))
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    stages = stage_outputs(model)
    if not stages:
        raise ValueError(
            f"Model {model.name!r} has no stage{{i}}_out layers, which layer_decay groups "
            "the layers by; use layer_decay=1."
        )
    stage_of: dict[str, str] = {}
    for stage in stages:
        for name in upstream_layers(model, stage):
            stage_of.setdefault(name, stage.removesuffix("_out"))
    groups: dict[str, list[str]] = {"stem": []}
    groups.update((stage.removesuffix("_out"), []) for stage in stages)
    groups[HEAD] = []
    for layer in model.layers:
        if not layer.weights:
            continue
        group = stage_of.get(layer.name, HEAD)
        if group != HEAD and re.fullmatch(r"stem(_.*)?", layer.name):
            group = "stem"
        groups[group].append(layer.name)
    return {group: tuple(names) for group, names in groups.items() if names}


def layer_decay_factors(model: keras.Model, layer_decay: float) -> dict[str, float]:
    """The factor of each group's learning rate: 1 for the head, ``layer_decay ** k`` for
    the group ``k`` steps below it. The head is listed also for a model without one
    (``include_top=False``): the head put on later learns at the base rate.

    Example:
        >>> from cnnzoo import resnet20
        >>> factors = layer_decay_factors(resnet20(input_shape=(32, 32, 3)), 0.5)
        >>> factors
        {'stem': 0.0625, 'stage1': 0.125, 'stage2': 0.25, 'stage3': 0.5, 'head': 1.0}
    """
    layer_decay = check_layer_decay(layer_decay)
    names = [group for group in layer_groups(model) if group != HEAD] + [HEAD]
    return {name: layer_decay ** (len(names) - 1 - depth) for depth, name in enumerate(names)}


@keras.saving.register_keras_serializable(package="cnnzoo")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule times a constant factor (a group's share of the rate).

    Example:
        >>> schedule = keras.optimizers.schedules.ExponentialDecay(1.0, 10, 0.5)
        >>> float(ScaledSchedule(schedule, 0.25)(10))
        0.125
    """

    def __init__(self, schedule, factor: float):
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        self.schedule = schedule
        self.factor = float(factor)

    def __call__(self, step):
        return self.schedule(step) * self.factor

    def get_config(self) -> dict:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "factor": self.factor,
        }


def _scaled(rate, factor: float):
    if factor == 1:
        return rate
    if isinstance(rate, dict):  # a schedule, serialized by get_config
        rate = keras.saving.deserialize_keras_object(rate)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return ScaledSchedule(rate, factor)
    return float(rate) * factor


def _group_keys(model: keras.Model, groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """A regular expression per group (head excepted) that matches the paths of its
    variables and no other variable's: by the layers' first words where they tell the
    groups apart (``stage2`` for ``stage2_block1_1_conv/kernel``, ``inception3a`` or
    ``inception3b``), else the group's layers spelled out."""
    paths = {layer.name: [w.path for w in layer.weights] for layer in model.layers}
    every = [path for names in paths.values() for path in names]
    keys = {}
    for group, names in groups.items():
        if group == HEAD:
            continue
        own = {path for name in names for path in paths[name]}
        words = sorted({name.split("_", 1)[0] for name in names})
        short = "(?:" + "|".join(map(re.escape, words)) + r")(?:_[^/]*)?/.*"
        if {path for path in every if re.fullmatch(short, path)} == own:
            keys[group] = short
        else:
            prefixes = sorted({path.rsplit("/", 1)[0] for path in own})
            keys[group] = "(?:" + "|".join(map(re.escape, prefixes)) + ")/.*"
    return keys


def layer_decay_optimizer(
    model: keras.Model, optimizer="adam", layer_decay: float = 1.0
) -> keras.optimizers.Optimizer:
    """``optimizer`` with layer-wise learning rates for ``model``.

    The head keeps the optimizer's learning rate; the group ``k`` steps below it (see
    :func:`layer_groups`) learns at ``rate * layer_decay ** k``, so with four stages and
    ``layer_decay=0.7`` the stem learns at 0.17 times the head's rate. A schedule is
    scaled step by step (:class:`ScaledSchedule`). The result is a Keras
    ``MultiOptimizer`` holding one copy of ``optimizer`` per group (named
    ``{optimizer}_{group}``); the variables of frozen layers simply get no update, so
    the same optimizer serves every phase. ``layer_decay=1`` returns ``optimizer`` as
    it is.

    Args:
        model: A cnnzoo model, the one the optimizer will train.
        optimizer: A Keras optimizer, its name or its config (as ``compile`` takes it).
        layer_decay: Factor per group, in (0, 1].

    Returns:
        A Keras optimizer to ``compile`` ``model`` with.

    Raises:
        ValueError: For ``layer_decay`` outside (0, 1], an optimizer that already wraps
            others, or a model without stage outputs.

    Example:
        >>> from cnnzoo import resnet20
        >>> model = resnet20(input_shape=(32, 32, 3), num_classes=10)
        >>> optimizer = layer_decay_optimizer(model, keras.optimizers.SGD(0.1), 0.5)
        >>> model.compile(optimizer, "sparse_categorical_crossentropy")
        >>> learning_rates(optimizer)
        {'stem': 0.00625, 'stage1': 0.0125, 'stage2': 0.025, 'stage3': 0.05, 'head': 0.1}
    """
    layer_decay = check_layer_decay(layer_decay)
    optimizer = keras.optimizers.get(optimizer)
    if layer_decay == 1:
        return optimizer
    wrappers = (keras.optimizers.MultiOptimizer, keras.optimizers.LossScaleOptimizer)
    if isinstance(optimizer, wrappers):
        raise ValueError(
            "layer_decay needs a plain Keras optimizer (Adam, SGD, ...), not one that wraps "
            f"others; received {type(optimizer).__name__}."
        )
    groups = layer_groups(model)
    factors = layer_decay_factors(model, layer_decay)
    config = optimizer.get_config()

    def copy(group):
        rate = _scaled(config["learning_rate"], factors[group])
        return type(optimizer).from_config(
            {**config, "name": f"{config['name']}_{group}", "learning_rate": rate}
        )

    optimizer_map = keras.optimizers.OptimizerMap(copy(HEAD))
    for group, key in _group_keys(model, groups).items():
        optimizer_map[key] = copy(group)
    return keras.optimizers.MultiOptimizer(optimizer_map, name=f"{config['name']}_layer_decay")


def learning_rates(optimizer: keras.optimizers.Optimizer) -> dict[str, float]:
    """The learning rate of each group at the optimizer's step (a schedule evaluated
    there), read from an optimizer made by :func:`layer_decay_optimizer` (also after
    reloading the model); a plain optimizer gives ``{"all": rate}``.

    Example:
        >>> learning_rates(keras.optimizers.Adam(1e-3))
        {'all': 0.001}
    """

    def shortest(value):  # float32, to 6 digits: 0.001 rather than 0.0010000000474974513
        return float(f"{float(keras.ops.convert_to_numpy(value)):.6g}")

    if not isinstance(optimizer, keras.optimizers.MultiOptimizer):
        return {"all": shortest(optimizer.learning_rate)}
    # The step of the whole optimizer: a frozen group's copy never steps on its own.
    step = optimizer.iterations
    rates = {}
    for inner in optimizer.optimizers:
        rate = inner.get_config()["learning_rate"]
        if isinstance(rate, dict):
            rate = keras.saving.deserialize_keras_object(rate)(step)
        rates[inner.name.rsplit("_", 1)[-1]] = shortest(rate)
    return rates


def rates_table(factors: dict[str, float], learning_rate: float) -> str:
    """The groups' factors and learning rates as a small table.

    Example:
        >>> print(rates_table({"stage1": 0.49, "stage2": 0.7, "head": 1.0}, 1e-3))
        group   factor  learning rate
        stage1  0.49    0.00049
        stage2  0.7     0.0007
        head    1       0.001
    """
    width = max(len("group"), *map(len, factors)) + 2
    lines = [f"{'group':<{width}}factor  learning rate"]
    for group, factor in factors.items():
        lines.append(f"{group:<{width}}{factor:<8.3g}{learning_rate * factor:.3g}")
    return "\n".join(lines)


__all__ = [
    "ScaledSchedule",
    "check_layer_decay",
    "layer_decay_factors",
    "layer_decay_optimizer",
    "layer_groups",
    "learning_rates",
    "rates_table",
]
