"""A griffe extension for the API reference: cnnzoo's docstrings, as mkdocstrings reads them.

cnnzoo's docstrings follow the Google style with the house conventions, which griffe's
Google parser reads differently:

- ``Example:`` (singular) heads the doctest examples; griffe knows ``Examples:`` only and
  would render the doctests as prose (where lists such as ``['a', 'b']`` even turn into
  broken Markdown links).
- Sphinx roles (``:func:`train```, ``:class:`~cnnzoo.transfer.Phase```) become code spans.
"""

from __future__ import annotations

import re

import griffe

EXAMPLE_HEADING = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
ROLE = re.compile(r":(?:func|class|meth|mod|attr|exc|data|obj):`~?([^`]+)`")


def normalize(text: str) -> str:
    """The docstring ``text`` as griffe's Google parser expects it.

    Example:
        >>> normalize("Sums.\\n\\nExample:\\n    >>> add(1, 2)\\n    3")
        'Sums.\\n\\nExamples:\\n    >>> add(1, 2)\\n    3'
        >>> normalize("See :func:`~cnnzoo.transfer.freeze`.")
        'See `cnnzoo.transfer.freeze`.'
    """
    return ROLE.sub(r"`\1`", EXAMPLE_HEADING.sub(r"\1Examples:", text))


class CnnzooDocstrings(griffe.Extension):
    """Rewrites every docstring with :func:`normalize` as griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = normalize(obj.docstring.value)
