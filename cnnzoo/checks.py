"""Argument checks shared by the whole package: each raises a ``ValueError`` that names the
argument as the user typed it, the value received and what is allowed (and, given the
keyword-only ``context``, where it was given: a layer's name, for example).

Nothing here imports Keras; the checks that need layer arithmetic (kernel windows,
paddings) live beside it in :mod:`cnnzoo.layers.arithmetic`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any


def is_int(value) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_keywords(function_name: str, known: Sequence[str], kwargs) -> None:
    """Refuses a keyword not in ``known``, suggesting the closest known ones.

    Example:
        >>> try:
        ...     check_keywords("vgg", ["dropout", "depths"], {"dropuot": 0.1})
        ... except ValueError as error:
        ...     print(str(error).split("?")[0] + "?")
        vgg() got an unknown argument 'dropuot'. Did you mean 'dropout'?
    """
    for key in kwargs:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ValueError(
                f"{function_name}() got an unknown argument {key!r}.{hint} "
                f"Known arguments: {', '.join(known)}."
            )


def check_input_shape(input_shape) -> tuple[int | None, ...]:
    """Checks a channels-last ``input_shape`` of 1, 2 or 3 spatial axes.

    Example:
        >>> check_input_shape([64, 64, 3])
        (64, 64, 3)
    """
    message = (
        "input_shape must be (length, channels), (height, width, channels) or "
        "(depth, height, width, channels), with positive sizes (None allowed for spatial "
        f"sizes) and a positive channel count; received input_shape={input_shape!r}."
    )
    if not isinstance(input_shape, Sequence) or isinstance(input_shape, str):
        raise ValueError(message)
    shape = tuple(input_shape)
    if not 2 <= len(shape) <= 4 or not is_int(shape[-1]) or shape[-1] <= 0:
        raise ValueError(message)
    if not all(size is None or (is_int(size) and size > 0) for size in shape[:-1]):
        raise ValueError(message)
    return shape


def _refusal(argument: str, allowed: str, value, context: str) -> ValueError:
    where = f" ({context})" if context else ""
    return ValueError(f"{argument} must be {allowed}; received {argument}={value!r}{where}.")


def check_choice(argument: str, value, allowed: Sequence, *, context: str = ""):
    """``value`` if it is one of ``allowed``.

    Every ``check_*`` below takes a keyword-only ``context``: where the value was given
    (a layer's name, for example), added in parentheses at the end of the message.

    Example:
        >>> try:
        ...     check_choice("kind", "min", ("max", "avg"), context="stem_pool")
        ... except ValueError as error:
        ...     print(error)
        kind must be one of ('max', 'avg'); received kind='min' (stem_pool).
    """
    if value not in allowed:
        raise _refusal(argument, f"one of {tuple(allowed)}", value, context)
    return value


def check_positive_int(
    argument: str, value, *, allow_none: bool = False, context: str = ""
) -> int | None:
    """``value`` if it is an ``int`` above 0 (not a ``bool``); with ``allow_none=True``,
    ``None`` too, and the message says so.

    Example:
        >>> try:
        ...     check_positive_int("batch_size", 0, allow_none=True)
        ... except ValueError as error:
        ...     print(error)
        batch_size must be a positive int or None; received batch_size=0.
    """
    if allow_none and value is None:
        return None
    if not is_int(value) or value <= 0:
        allowed = "a positive int or None" if allow_none else "a positive int"
        raise _refusal(argument, allowed, value, context)
    return value


def check_rate(argument: str, value, *, context: str = "") -> float:
    """A number in ``[0, 1)`` (dropout, drop-path), as a ``float``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise _refusal(argument, "a number in [0, 1)", value, context)
    return float(value)


def check_units(argument: str, value, *, context: str = "") -> tuple[int, ...]:
    """A tuple of positive ints (widths, hidden units, repeats)."""
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or not all(is_int(item) and item > 0 for item in value)
    ):
        raise _refusal(argument, "a tuple of positive ints", value, context)
    return tuple(value)


def check_bool(argument: str, value, *, context: str = "") -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0 or 1)."""
    if not isinstance(value, bool):
        raise _refusal(argument, "True or False", value, context)
    return value


def per_stage(
    argument: str, value, stages: int, check: Callable[[str, Any], Any] | None = None
) -> tuple:
    """One value per stage: a sequence of length ``stages`` is taken as it is, anything
    else is repeated for every stage. ``check(name, item)`` raises for a bad item; an
    item of a per-stage sequence is named ``argument[i]``.

    Example:
        >>> per_stage("padding", "same", 3)
        ('same', 'same', 'same')
        >>> per_stage("padding", (2, "valid", "valid"), 3)
        (2, 'valid', 'valid')
        >>> try:
        ...     per_stage("repeats", (5, 2.5, 5), 3, check_positive_int)
        ... except ValueError as error:
        ...     print(str(error).split("; ")[-1])
        received repeats[1]=2.5.
    """
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == stages:
        values = tuple(value)
        names = [f"{argument}[{index}]" for index in range(stages)]
    elif isinstance(value, list):
        raise ValueError(
            f"{argument} given as a list must have one entry per stage ({stages}); "
            f"received {argument}={value!r}."
        )
    else:
        values = (value,) * stages
        names = [argument] * stages
    if check is not None:
        for name, item in zip(names, values, strict=True):
            check(name, item)
    return values
