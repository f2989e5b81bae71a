"""TensorFlow's start-up lines, kept off the command line's stderr.

TensorFlow 2.20+ logs through Abseil, which writes everything it logs before
``absl::InitializeLog()`` (never called by TensorFlow) to stderr, whatever
``TF_CPP_MIN_LOG_LEVEL`` says: on every import, twice (two copies of Abseil), the oneDNN
notice and "Could not find cuda drivers", and at the first device probe a "failed call to
cuInit". Only the file descriptor can catch them, so the command imports TensorFlow and
probes the devices once, up front, with stderr going to a file, then writes back every line
that is not one of those records below ``TF_CPP_MIN_LOG_LEVEL`` (2 unless the user set it:
errors stay). After the import TensorFlow honours the variable itself.

Python's warnings and tracebacks, and any line this module does not recognise, pass through.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

ABSL_PREAMBLE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
# I0000 00:00:1796402908.747253    4122 port.cc:153] oneDNN custom operations are on. ...
_RECORD = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] ")
# cpu_feature_guard's record spans two lines; this is its second.
_CONTINUATION = "To enable the following instructions:"
_NO_DRIVER = "Could not find cuda drivers on your machine"
_CUINIT_FAILED = "failed call to cuInit"


def min_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as a number: 0 shows everything, 3 hides errors too."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def drop_tensorflow_noise(text: str, level: int) -> str:
    """``text`` without TensorFlow's Abseil records below ``level`` (0 info, 1 warning,
    2 error, 3 fatal) and the Abseil preamble.

    On a machine where TensorFlow found no CUDA driver, the cuInit failure that follows is
    what it expects and counts as information.

    Example:
        >>> text = (
        ...     "WARNING: All log messages before absl::InitializeLog() is called are "
        ...     "written to STDERR\\n"
        ...     "I0000 00:00:1.5  12 cudart_stub.cc:31] Could not find cuda drivers on your "
        ...     "machine, GPU will not be used.\\n"
        ...     "E0000 00:00:2.5  12 cuda_platform.cc:52] failed call to cuInit: ...\\n"
        ...     "E0000 00:00:3.5  12 saver.cc:9] Checkpoint unreadable\\n"
        ...     "train.py:3: UserWarning: yours\\n"
        ... )
        >>> print(drop_tensorflow_noise(text, level=2), end="")
        E0000 00:00:3.5  12 saver.cc:9] Checkpoint unreadable
        train.py:3: UserWarning: yours
        >>> drop_tensorflow_noise(text, level=0) == text
        True
    """
    lines = text.splitlines(keepends=True)
    no_driver = any(_NO_DRIVER in line for line in lines)
    kept = []
    dropped_record = False
    for line in lines:
        if _RECORD.match(line):
            severity = "IWEF".index(line[0])
            if no_driver and _CUINIT_FAILED in line:
                severity = 0
            dropped_record = severity < level
        elif line.rstrip("\r\n") == ABSL_PREAMBLE:
            dropped_record = level >= 1
        elif not (dropped_record and line.startswith(_CONTINUATION)):
            dropped_record = False
        if not dropped_record:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def tensorflow_noise_filtered() -> Iterator[None]:
    """Sends file descriptor 2 to a file for the block, then writes back what
    :func:`drop_tensorflow_noise` keeps (an exception in the block included)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = drop_tensorflow_noise(capture.read().decode(errors="replace"), min_log_level())
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and Keras and probes the devices, with the start-up lines
    filtered; a no-op once TensorFlow is imported."""
    if "tensorflow" in sys.modules:
        return
    with tensorflow_noise_filtered():
        try:
            import tensorflow as tf
        except ImportError:  # another backend without TensorFlow: Keras alone
            tf = None
        import keras  # noqa: F401  (its backend loads here)

        if tf is not None:
            tf.config.list_physical_devices()  # the CUDA probe, and its cuInit line, now
