"""Old public names kept working: each lookup warns with a ``DeprecationWarning`` that
names the new one."""

from __future__ import annotations

import importlib
import warnings


def moved(module_name: str, renamed: dict[str, tuple[str, str]]):
    """A module ``__getattr__`` that serves each old name in ``renamed`` (old name ->
    ``(module, new name)``) with a warning.

    Example:
        >>> __getattr__ = moved("old", {"sqrt": ("math", "sqrt")})
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     __getattr__("sqrt")(4.0), str(caught[0].message)
        (2.0, 'old.sqrt is deprecated; use math.sqrt.')
    """

    def __getattr__(name: str):  # noqa: N807 (a module's __getattr__)
        if name not in renamed:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module, new_name = renamed[name]
        warnings.warn(
            f"{module_name}.{name} is deprecated; use {module}.{new_name}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), new_name)

    return __getattr__
