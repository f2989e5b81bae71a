"""Downloads a weights file into the Keras cache as keras.applications does: a progress bar,
the checksum checked, and the file moved into place only once complete and correct, so a
partial or corrupt download never becomes a cached file. Nothing here imports Keras."""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from cnnzoo.pretrained.tags import PretrainedWeights

MIRROR_VARIABLE = "CNNZOO_WEIGHTS_MIRROR"
CHUNK = 1 << 20


class WeightsDownloadError(OSError):
    """A weights file could not be downloaded, or arrived incomplete or corrupt."""


def cache_folder() -> Path:
    """Where downloaded weights are kept: ``$KERAS_HOME/models``, else ``~/.keras/models``
    (where keras.applications keeps its own), read when called.

    Example:
        >>> cache_folder().name
        'models'
    """
    home = os.environ.get("KERAS_HOME")
    if home is None:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    return Path(os.path.expanduser(home)) / "models"


def source_url(weights: PretrainedWeights, mirror: str | None = None) -> str:
    """The address a download reads: ``mirror`` (else ``$CNNZOO_WEIGHTS_MIRROR``) followed
    by the file name, or the source's own URL.

    Example:
        >>> from cnnzoo.pretrained.tags import torchvision_weights
        >>> entry = torchvision_weights("resnet18", "resnet18-f37072fd.pth", 69.758)
        >>> source_url(entry, mirror="http://127.0.0.1:8000/weights/")
        'http://127.0.0.1:8000/weights/resnet18-f37072fd.pth'
    """
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_VARIABLE) or None
    if mirror is None:
        return weights.url
    return f"{mirror.rstrip('/')}/{weights.file_name}"


def file_checksum(path, length: int) -> str:
    """The file's MD5 (``length`` 32) or SHA-256 (any other), in hex.

    Example:
        >>> path = Path(tempfile.mkdtemp()) / "empty"
        >>> _ = path.write_bytes(b"")
        >>> file_checksum(path, 8)[:8], file_checksum(path, 32)[:8]
        ('e3b0c442', 'd41d8cd9')
    """
    digest = hashlib.md5() if length == 32 else hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_matches(path, checksum: str) -> bool:
    """Whether the file's digest starts with ``checksum`` (any file when it is empty)."""
    if not checksum:
        return True
    return file_checksum(path, len(checksum)).startswith(checksum.lower())


def cached_file(weights: PretrainedWeights, cache_dir=None) -> Path:
    """Where ``weights`` is, or will be once downloaded."""
    return Path(cache_dir if cache_dir is not None else cache_folder()) / weights.file_name


def _offline_message(weights: PretrainedWeights, url: str, target: Path, reason) -> str:
    return (
        f"Could not download the weights {weights.name} from {url} ({reason}). On a machine "
        f"with internet access run `cnnzoo weights download {weights.name}`, or download "
        f"{weights.url} yourself, and put the file {weights.file_name} in {target.parent}; "
        f"or set {MIRROR_VARIABLE} to a server that has it."
    )


def _copy(response, file, total: int | None, progress: bool, name: str) -> int:
    done = 0
    for chunk in iter(lambda: response.read(CHUNK), b""):
        file.write(chunk)
        done += len(chunk)
        if progress:
            size = f"/{total / 1e6:.1f}" if total else ""
            print(f"\rDownloading {name}: {done / 1e6:.1f}{size} MB", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    return done


def fetch(
    weights: PretrainedWeights,
    *,
    cache_dir=None,
    mirror: str | None = None,
    progress: bool = True,
    timeout: float = 60,
) -> Path:
    """The cached file of ``weights``, downloaded first when it is not there.

    The download goes to a temporary file beside the target and is checked for its full
    length and its checksum before it is moved into place; a cached file that fails the
    checksum (changed on disk) is downloaded again.

    Args:
        weights: The catalogue entry (:func:`cnnzoo.pretrained.pretrained_weights`).
        cache_dir: The folder to keep it in (default :func:`cache_folder`).
        mirror: A server holding the file under its file name; default
            ``$CNNZOO_WEIGHTS_MIRROR``, else the source's URL.
        progress: Print the megabytes received to standard error.
        timeout: Seconds to wait for the server on each read.

    Raises:
        WeightsDownloadError: When the server cannot be reached, the connection drops, or
            the file arrives short or with another checksum; it names the URL, the file
            and the folder to put it in by hand.
    """
    target = cached_file(weights, cache_dir)
    if target.is_file() and checksum_matches(target, weights.checksum):
        return target
    url = source_url(weights, mirror)
    created = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length else None
                    done = _copy(response, file, total, progress, weights.file_name)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
                raise WeightsDownloadError(_offline_message(weights, url, target, error)) from None
        if total is not None and done != total:
            raise WeightsDownloadError(
                _offline_message(weights, url, target, f"received {done} of {total} bytes")
            )
        if not checksum_matches(temporary, weights.checksum):
            raise WeightsDownloadError(
                f"The file downloaded from {url} is corrupt: its checksum does not start "
                f"with {weights.checksum}. Nothing was cached; try again, or check the mirror."
            )
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
        if created and not any(target.parent.iterdir()):  # a failure leaves no folder
            target.parent.rmdir()
    return target
