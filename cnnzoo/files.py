"""Files written atomically: a process killed at any moment leaves either the old file or
the new one, never a part of it. Run folders, searches and heartbeats all write through
:func:`write_text`."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _write_file(path: Path, data: bytes) -> None:
    """Writes ``data`` to a new file at ``path`` and flushes it to the disk."""
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def write_text(path: str | Path, text: str) -> None:
    """Writes ``text`` to ``path`` atomically: a kill at any moment leaves either the old
    file or the new one, never a part of it.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "state.json"
        >>> write_text(path, '{"a": 1}')
        >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
        ('{"a": 1}', ['state.json'])
    """
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (see :func:`write_text`)."""
    write_with(path, lambda partial: _write_file(partial, data))


def write_with(path: str | Path, save: Callable[[Path], None], suffix: str = "") -> None:
    """Has ``save`` write a temporary file next to ``path`` and renames it into place, so
    that a kill at any moment leaves either the old file or the new one. ``suffix`` ends
    the temporary name, for writers that insist on one (Keras: ``".keras"``).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "w.txt"
        >>> write_with(path, lambda partial: partial.write_text("new"))
        >>> path.read_text(), [p.name for p in path.parent.iterdir()]
        ('new', ['w.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer (a chief and a worker may write the same file), made
    # here rather than by mkstemp so that the file gets the usual permissions.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{suffix}")
    try:
        save(partial)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def write_json(path: str | Path, data: Any) -> None:
    """Writes ``data`` as JSON atomically (see :func:`write_text`)."""
    write_text(path, json.dumps(data, indent=2, default=str))


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``, or ``None`` when it is missing, empty or not whole JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
