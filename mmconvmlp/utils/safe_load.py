# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Read checkpoints without running code from them, wherever they come from.

``torch.load`` unpickles; a hostile file can run any command while it is
read unless only tensors and allow-listed classes are accepted
(``weights_only=True``). MMEngine 0.10.7 reads local files with torch's
default (weights-only since torch 2.6) but downloads http(s) checkpoints
with ``torch.hub.load_state_dict_from_url``, which unpickles them, and the
files cached under ``$TORCH_HOME/hub/checkpoints``, with
``weights_only=False``. :func:`register_safe_loaders` (run on
``import mmconvmlp``) replaces MMEngine's local and http(s) loaders, which
serve ``load_from``, ``resume``, ``init_cfg``, ``tools/test.py`` and the
inferencers, with weights-only ones; the ``torchvision://``,
``open-mmlab://`` and ``mmcls://`` schemes download through the http one.

A file can be pinned to its SHA-256: by ``sha256`` where it is named
(:func:`resolve_checkpoint`), or by torch hub's file-name convention
``name-<first 8 or more hex digits of the SHA-256>.ext`` for files fetched
by URL. A file that does not match is refused.
"""
import hashlib
import os
import os.path as osp
import pickle
import re
import tempfile
import urllib.request
from typing import Optional
from urllib.parse import urlparse

import torch

#: torch hub's convention: ``name-<hex prefix of the SHA-256>.ext``.
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[^.]+$')
_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')
_CHUNK = 1 << 20  # bytes read at a time when hashing or downloading


class CheckpointError(RuntimeError):
    """A checkpoint was refused; the message says which file and why.

    ``tools/train.py`` and ``tools/test.py`` print it alone and exit with
    status 1.
    """


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The file holds code or classes that weights-only loading refuses.

    Also an ``UnpicklingError``, so code that catches torch's refusal
    catches this one too.
    """


class CheckpointHashError(CheckpointError):
    """The file's SHA-256 is not the one it is pinned to."""


def sha256sum(path: str) -> str:
    """The SHA-256 of a file, as ``sha256sum`` prints it.

    Args:
        path (str): A local file.

    Returns:
        str: 64 lower-case hex digits.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(_CHUNK), b''):
            digest.update(block)
    return digest.hexdigest()


def _pins(name: str, sha256: Optional[str], by_name: bool) -> list:
    """``(expected hex, where it comes from)`` pairs that apply to a file.

    Raises:
        CheckpointError: ``sha256`` is not 64 hex digits.
    """
    pins = []
    if sha256:
        sha256 = str(sha256).strip().lower()
        if not re.fullmatch(r'[0-9a-f]{64}', sha256):
            raise CheckpointError(
                f'checkpoint {name}: the sha256 pin {sha256!r} is not 64 '
                'hex digits (write what `sha256sum FILE` prints).')
        pins.append((sha256, 'its pinned sha256'))
    match = HASH_IN_NAME.search(name) if by_name else None
    if match:
        pins.append((match.group(1), 'the hash in its file name'))
    return pins


def _check_pins(source: str, pins: list, actual: str) -> None:
    for expected, where in pins:
        if not actual.startswith(expected):
            raise CheckpointHashError(
                f'checkpoint {source} refused: its SHA-256 is {actual}, but '
                f'{where} is {expected}; nothing was loaded from it.')


def check_sha256(path: str,
                 sha256: Optional[str],
                 source: Optional[str] = None) -> None:
    """Refuse a local file whose SHA-256 is not the pinned one.

    Args:
        path (str): The local file.
        sha256 (str, optional): The expected SHA-256, 64 hex digits as
            ``sha256sum`` prints them. None checks nothing.
        source (str, optional): How the user named the file (a URL), for
            the message. Defaults to ``path``.

    Raises:
        CheckpointHashError: The file's hash differs; the message names the
            file and both hashes.
        CheckpointError: ``sha256`` is not 64 hex digits.
    """
    if sha256:
        _check_pins(source or path, _pins(source or path, sha256, False),
                    sha256sum(path))


def _download(url: str, dst: str, pins: list) -> None:
    """Download ``url`` to ``dst`` atomically: to a temporary file in the
    same folder, checked against ``pins``, then renamed. An interrupted or
    refused download leaves no file at ``dst``."""
    from mmengine.logging import print_log
    folder = osp.dirname(dst)
    os.makedirs(folder, exist_ok=True)
    print_log(f'Downloading {url} to {dst}', logger='current')
    fd, tmp = tempfile.mkstemp(
        dir=folder, suffix='.part', prefix=f'.{osp.basename(dst)}.')
    try:
        digest = hashlib.sha256()
        request = urllib.request.Request(
            url, headers={'User-Agent': 'mmconvmlp'})
        with os.fdopen(fd, 'wb') as f, urllib.request.urlopen(request) as r:
            for block in iter(lambda: r.read(_CHUNK), b''):
                digest.update(block)
                f.write(block)
        _check_pins(url, pins, digest.hexdigest())
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _fetch(url: str, path: str, pins: list) -> None:
    if not osp.isfile(path):
        _download(url, path, pins)
    elif pins:
        _check_pins(
            f'{url} (cached as {path}; delete it to download it '
            'again)', pins, sha256sum(path))


def fetch_checkpoint(url: str,
                     sha256: Optional[str] = None,
                     model_dir: Optional[str] = None) -> str:
    """The local copy of an http(s) checkpoint, downloaded once and checked.

    The file is kept where torch hub keeps it
    (``$TORCH_HOME/hub/checkpoints/<name in the URL>``), so files torch or
    MMEngine downloaded before are reused. Every call checks the local file
    against the pins (``sha256`` and the hash in the file name, if any).
    In a distributed run rank 0 downloads first.

    Args:
        url (str): ``http://`` or ``https://`` URL.
        sha256 (str, optional): The expected SHA-256. Defaults to None.
        model_dir (str, optional): Where to keep the file. Defaults to torch
            hub's ``checkpoints`` folder.

    Returns:
        str: The local file.

    Raises:
        CheckpointHashError: The file does not match a pin (a download that
            does not match is deleted; a cached file is kept and named).
        urllib.error.URLError: The download failed.
    """
    from mmengine.dist import barrier, get_dist_info
    name = osp.basename(urlparse(url).path)
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    path = osp.join(model_dir, name)
    pins = _pins(name, sha256, True)
    rank, world_size = get_dist_info()
    if rank == 0:
        _fetch(url, path, pins)
    if world_size > 1:  # the others read the file rank 0 fetched
        barrier()
        if rank > 0:
            _fetch(url, path, pins)
    return path


def resolve_checkpoint(filename: str, sha256: Optional[str] = None) -> str:
    """A local file for ``filename``, checked against its pins.

    Use it to pin a checkpoint before handing it to code that takes a path
    (``init_detector``, ``DetInferencer``, ``Runner``)::

        path = resolve_checkpoint(URL, sha256='3b5c...')

    Args:
        filename (str): A local path or an http(s) URL.
        sha256 (str, optional): The expected SHA-256 (as ``sha256sum``
            prints it). Defaults to None (URLs are still checked against a
            hash in their file name).

    Returns:
        str: ``filename`` itself for a local file, the downloaded copy for a
        URL.

    Raises:
        CheckpointHashError: The file does not match.
        CheckpointError: ``sha256`` is given for another scheme
            (``s3://``, ``torchvision://`` ...): download the file and pin
            the local copy.
    """
    if filename.startswith(('http://', 'https://')):
        return fetch_checkpoint(filename, sha256)
    if '://' in filename:
        if sha256:
            raise CheckpointError(
                f'checkpoint {filename}: a sha256 pin works with local files '
                'and http(s) URLs only; download the file and pin the copy.')
        return filename
    check_sha256(osp.expanduser(filename), sha256, filename)
    return filename


def _refusal(source: str, path, error: Exception) -> str:
    """The one message for a file torch's weights-only unpickler refused."""
    found = list(dict.fromkeys(_GLOBAL.findall(str(error))))
    if not found and isinstance(path, str):
        try:
            found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # noqa: BLE001  (only used to name the culprit)
            found = []
    if found:
        what = ', '.join(found)
    else:  # torch's details without its advice to load unsafely
        parts = [p.strip() for p in str(error).split('\n\n') if p.strip()]
        parts = [
            p for p in parts if 'weights_only' not in p
            and not p.startswith('Check the documentation')
        ]
        what = (parts[0] if parts else str(error)).split('\n')[0]
    return (f'checkpoint {source} refused: it holds code or classes that '
            f'are not allowed in a checkpoint ({what}); it was read '
            'weights-only and nothing in it ran.')


def safe_torch_load(path, map_location=None, source: Optional[str] = None):
    """``torch.load(path, weights_only=True)`` with one clear refusal.

    Only tensors, containers, numbers, strings and the allow-listed classes
    of MMEngine checkpoints (:func:`register_safe_globals`) are read;
    anything else stops the unpickler before it is built or called.

    Args:
        path (str | file-like): The checkpoint.
        map_location: As for ``torch.load``. Defaults to None.
        source (str, optional): How the user named the file (a URL), for
            the message. Defaults to ``path``.

    Returns:
        The unpickled object (a dict for checkpoints).

    Raises:
        UnsafeCheckpointError: The file holds other globals; the message
            names them and says that nothing ran.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(_refusal(source or str(path), path,
                                             e)) from None


def load_from_local(filename: str, map_location=None):
    """MMEngine's local checkpoint loader (scheme ``''``), weights-only.

    Raises:
        FileNotFoundError: No file there.
        UnsafeCheckpointError: See :func:`safe_torch_load`.
    """
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} can not be found.')
    return safe_torch_load(path, map_location)


def load_from_http(filename: str, map_location=None, model_dir=None, **_):
    """MMEngine's http(s) checkpoint loader, weights-only.

    Downloads through :func:`fetch_checkpoint` (hub cache, atomic, hash in
    the file name checked) and reads the file weights-only.

    Raises:
        CheckpointHashError: See :func:`fetch_checkpoint`.
        UnsafeCheckpointError: See :func:`safe_torch_load`.
    """
    path = fetch_checkpoint(filename, model_dir=model_dir)
    return safe_torch_load(path, map_location, source=filename)


_registered = False


def register_safe_loaders() -> None:
    """Make MMEngine read every local and http(s) checkpoint weights-only.

    Registers :func:`load_from_local` and :func:`load_from_http` with
    ``CheckpointLoader`` (``force=True``) and points the name
    ``mmengine.runner.checkpoint.load_from_http``, which the
    ``torchvision://``, ``open-mmlab://`` and ``mmcls://`` loaders call, at
    the safe one. Idempotent; ``import mmconvmlp`` calls it.
    """
    global _registered
    if _registered:
        return
    import mmengine.runner.checkpoint as mmengine_checkpoint
    loader = mmengine_checkpoint.CheckpointLoader
    loader.register_scheme(prefixes='', loader=load_from_local, force=True)
    loader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    mmengine_checkpoint.load_from_http = load_from_http
    _registered = True


def check_load_from_pin(cfg) -> None:
    """Check ``cfg.load_from`` against ``cfg.load_from_sha256``, if set.

    A URL is downloaded (and checked) here, and ``cfg.load_from`` becomes
    the local copy, so the runner reads the file that was checked. Resumed
    runs are not checked: their checkpoint is the run's own.

    Args:
        cfg (Config): The tool's config, modified in place.

    Raises:
        CheckpointError: See :func:`resolve_checkpoint`.
    """
    pin = cfg.get('load_from_sha256')
    if pin and cfg.get('load_from') and not cfg.get('resume'):
        cfg.load_from = resolve_checkpoint(cfg.load_from, pin)
