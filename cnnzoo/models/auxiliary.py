"""Training with auxiliary classifiers (GoogLeNet, Inception v3) and predicting without them.

A model built with ``aux_logits=True`` has the outputs ``[predictions, aux..._predictions]``.
Keras trains a multi-output model only on one label array per output: ``fit(x, y)`` with a
single ``y`` fails ("y_true and y_pred have different structures"). The training model of
:func:`compile_with_auxiliary_heads` gives the same labels to every output and weights the
auxiliary losses by 0.3, the weight of GoogLeNet's section 5; :func:`without_auxiliary_heads`
returns the inference model, the main output only, with the same weights.
"""

from __future__ import annotations

import keras
from keras import tree

# GoogLeNet, section 5: "their loss gets added to the total loss of the network with a
# discount weight (the losses of the auxiliary classifiers were weighted by 0.3)".
AUX_LOSS_WEIGHT = 0.3
MAIN_OUTPUT = "predictions"


@keras.saving.register_keras_serializable(package="cnnzoo")
class AuxiliaryTrainingModel(keras.Model):
    """A functional model whose outputs all learn from the same labels.

    ``fit``, ``evaluate`` and ``train_on_batch`` accept one label array and give it to
    every output; labels given per output (a list, tuple or dict) pass unchanged. Built by
    :func:`compile_with_auxiliary_heads`; it saves and reloads like any Keras model.
    """

    def _same_labels_for_every_output(self, y, y_pred):
        if y is not None and not tree.is_nested(y) and isinstance(y_pred, (list, tuple)):
            return tuple(y for _ in y_pred)
        return y

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        y = self._same_labels_for_every_output(y, y_pred)
        return super().compute_loss(x, y, y_pred, sample_weight, training=training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        y = self._same_labels_for_every_output(y, y_pred)
        return super().compute_metrics(x, y, y_pred, sample_weight)


def check_aux_logits(aux_logits, include_top) -> bool:
    """The check every factory with auxiliary classifiers makes of ``aux_logits``."""
    if not isinstance(aux_logits, bool):
        raise ValueError(f"aux_logits must be True or False; received aux_logits={aux_logits!r}.")
    if aux_logits and not include_top:
        raise ValueError(
            "aux_logits=True adds auxiliary classifiers, which needs include_top=True; "
            f"received include_top={include_top!r}."
        )
    return aux_logits


def with_auxiliary_outputs(model: keras.Model, aux_outputs: list) -> keras.Model:
    """``model`` itself, or the same graph with ``aux_outputs`` after its ``predictions``."""
    if not aux_outputs:
        return model
    return keras.Model(model.inputs, [model.output, *aux_outputs], name=model.name)


def _output_names(model) -> list[str]:
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    return list(model.output_names)


def compile_with_auxiliary_heads(
    model: keras.Model,
    *,
    optimizer="rmsprop",
    loss="sparse_categorical_crossentropy",
    metrics=None,
    aux_loss_weight: float = AUX_LOSS_WEIGHT,
    **compile_kwargs,
) -> keras.Model:
    """Compiles a model with auxiliary outputs so that ``fit(x, y)`` takes one label array.

    Every output gets ``loss``; the total is the main loss plus ``aux_loss_weight`` (the
    paper's 0.3) times each auxiliary loss. ``fit`` reports the total as ``loss`` and each
    unweighted part as ``{output}_loss``; ``metrics`` apply to the main output
    (``predictions_accuracy`` for ``["accuracy"]``).

    The returned training model shares its layers and weights with ``model`` (it is a
    :class:`AuxiliaryTrainingModel` over the same graph, since a plain functional model
    cannot give one label array to several outputs); training one trains the other. Use
    :func:`without_auxiliary_heads` for inference.

    Args:
        model: A model whose outputs are ``predictions`` and auxiliary classifiers, as
            ``googlenet(aux_logits=True)`` or ``inception_v3(aux_logits=True)`` build.
        optimizer: As in ``keras.Model.compile``.
        loss: One loss for every output.
        metrics: Metrics of the main output.
        aux_loss_weight: Weight of each auxiliary loss (>= 0).
        **compile_kwargs: Other ``keras.Model.compile`` arguments (not ``loss_weights``).

    Returns:
        The compiled training model.

    Raises:
        ValueError: If ``model`` has no auxiliary outputs or no ``predictions`` output, or
            for a bad ``aux_loss_weight``.

    Example:
        >>> import numpy as np
        >>> from cnnzoo import googlenet
        >>> model = googlenet(input_shape=(65, 65, 3), num_classes=3, aux_logits=True)
        >>> train = compile_with_auxiliary_heads(model, optimizer="sgd", metrics=["accuracy"])
        >>> x = np.random.default_rng(0).uniform(size=(4, 65, 65, 3)).astype("float32")
        >>> history = train.fit(x, np.array([0, 1, 2, 0]), verbose=0)
        >>> sorted(history.history)  # doctest: +NORMALIZE_WHITESPACE
        ['aux1_predictions_loss', 'aux2_predictions_loss', 'loss', 'predictions_accuracy',
         'predictions_loss']
    """
    names = _output_names(model)
    if MAIN_OUTPUT not in names or len(names) < 2:
        raise ValueError(
            f"compile_with_auxiliary_heads needs a model with the output {MAIN_OUTPUT!r} and "
            "auxiliary outputs, as googlenet(aux_logits=True) builds; received a model with "
            f"outputs {names}."
        )
    if (
        not isinstance(aux_loss_weight, (int, float))
        or isinstance(aux_loss_weight, bool)
        or aux_loss_weight < 0
    ):
        raise ValueError(
            f"aux_loss_weight must be a number >= 0; received aux_loss_weight={aux_loss_weight!r}."
        )
    if "loss_weights" in compile_kwargs:
        raise ValueError(
            "loss_weights is set from aux_loss_weight (1 for the main output); received "
            f"loss_weights={compile_kwargs['loss_weights']!r}."
        )
    if not isinstance(model, AuxiliaryTrainingModel):
        model = AuxiliaryTrainingModel(model.input, model.outputs, name=model.name)
    model.compile(
        optimizer=optimizer,
        loss=[loss] * len(names),
        loss_weights=[1.0 if name == MAIN_OUTPUT else float(aux_loss_weight) for name in names],
        metrics=None if metrics is None else [metrics if n == MAIN_OUTPUT else None for n in names],
        **compile_kwargs,
    )
    return model


def without_auxiliary_heads(model: keras.Model) -> keras.Model:
    """The inference model: the main output ``predictions`` only, with the same weights.

    ``predict`` and ``evaluate`` then give the main classifier alone, and the auxiliary
    heads cost nothing. When ``model`` is compiled (by :func:`compile_with_auxiliary_heads`
    for example) the inference model is compiled with the main output's loss and metrics,
    so ``evaluate`` works at once; compile it again to train it on its own.

    Args:
        model: A model with a ``predictions`` output, with or without auxiliary outputs.

    Returns:
        A plain functional ``keras.Model`` sharing ``model``'s layers.

    Raises:
        ValueError: If ``model`` has no ``predictions`` output (``include_top=False``).

    Example:
        >>> import numpy as np
        >>> from cnnzoo import googlenet
        >>> model = googlenet(input_shape=(65, 65, 3), num_classes=3, aux_logits=True)
        >>> inference = without_auxiliary_heads(model)
        >>> inference.output_names
        ['predictions']
        >>> x = np.ones((1, 65, 65, 3), "float32")
        >>> bool(np.array_equal(inference.predict(x, verbose=0), model.predict(x, verbose=0)[0]))
        True
    """
    names = _output_names(model)
    if MAIN_OUTPUT not in names:
        raise ValueError(
            f"without_auxiliary_heads needs a model with the output {MAIN_OUTPUT!r} "
            f"(include_top=True); received a model with outputs {names}."
        )
    index = names.index(MAIN_OUTPUT)
    inference = keras.Model(model.input, model.outputs[index], name=model.name)
    config = model.get_compile_config() if model.compiled else None
    if config:

        def main_part(value):
            if isinstance(value, dict) and MAIN_OUTPUT in value:
                return value[MAIN_OUTPUT]
            if isinstance(value, (list, tuple)) and len(value) == len(names):
                return value[index]
            return value

        config = {**config, "loss_weights": None}
        for key in ("loss", "metrics", "weighted_metrics"):
            config[key] = main_part(config.get(key))
        inference.compile_from_config(config)
    return inference
