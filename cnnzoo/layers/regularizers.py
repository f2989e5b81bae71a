"""The ``kernel_regularizer`` argument shared by every factory."""

from __future__ import annotations

import keras

DEFAULT_FACTOR = 1e-4
_KINDS = ("l1", "l2", "l1_l2")


def resolve_regularizer(value) -> keras.regularizers.Regularizer | None:
    """Turns the user's ``kernel_regularizer`` into a Keras regularizer.

    Accepts ``None``; a Keras ``Regularizer``; ``"l1"``, ``"l2"`` or ``"l1_l2"`` (factor
    1e-4); ``("l1", f)`` or ``("l2", f)``; or ``("l1_l2", f1, f2)``.

    Example:
        >>> resolve_regularizer(("l2", 5e-4)).get_config()["l2"]
        0.0005
        >>> resolve_regularizer("l1_l2").get_config()
        {'l1': 0.0001, 'l2': 0.0001}
    """
    if value is None or isinstance(value, keras.regularizers.Regularizer):
        return value
    if isinstance(value, str):
        kind = value
        factors = [DEFAULT_FACTOR] * (2 if kind == "l1_l2" else 1)
    elif isinstance(value, (tuple, list)) and value:
        kind, *factors = value
    else:
        kind, factors = None, []
    expected = 2 if kind == "l1_l2" else 1
    if (
        kind not in _KINDS
        or len(factors) != expected
        or not all(
            isinstance(f, (int, float)) and not isinstance(f, bool) and f >= 0 for f in factors
        )
    ):
        raise ValueError(
            "kernel_regularizer must be None, a keras.regularizers.Regularizer, one of "
            "'l1', 'l2', 'l1_l2', or a tuple ('l1', factor), ('l2', factor), "
            "('l1_l2', l1_factor, l2_factor) with factors >= 0; "
            f"received kernel_regularizer={value!r}."
        )
    if kind == "l1":
        return keras.regularizers.L1(factors[0])
    if kind == "l2":
        return keras.regularizers.L2(factors[0])
    return keras.regularizers.L1L2(l1=factors[0], l2=factors[1])
