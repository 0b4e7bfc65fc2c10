# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The one guard of everything the project writes: nothing of a user's is
overwritten or deleted.

Every writer (the demo and converted datasets, the tools' work and output
folders, ``make clean``) claims its target with :func:`output_dir` or
:func:`output_file`. A claimed folder gets a manifest, ``MANIFEST``, that
lists the files written there; a target holding any other file is refused
with one message naming them, and ``--overwrite`` or ``make clean``
(:func:`remove_written`) remove only the files a manifest lists.
"""
import contextlib
import json
import os
import os.path as osp
from typing import Callable, Iterable, Iterator, List, Optional, Set

# Standard library only: ``make clean`` (tools/misc/clean.py) loads this file
# without the rest of the package, so it works before the set-up.

#: The manifest's file name inside each folder the project writes.
MANIFEST = '.mmconvmlp-written.json'


class OutputError(RuntimeError):
    """A target holds files the project did not write (or, without
    ``--overwrite``, files an earlier run wrote). The tools print it as one
    message and exit with status 1 (:func:`mmconvmlp.utils.run_tool`)."""


def _files(root: str) -> Set[str]:
    """Paths (relative to ``root``) of the files and links under ``root``,
    manifests left out; a linked folder counts as one entry and is not
    entered."""
    found = set()
    for folder, dirs, files in os.walk(root):
        rel = osp.relpath(folder, root)
        links = [d for d in dirs if osp.islink(osp.join(folder, d))]
        dirs[:] = [d for d in dirs if d not in links]
        found.update(
            osp.normpath(osp.join(rel, name)) for name in files + links
            if name != MANIFEST)
    return found


def _read_manifest(path: str) -> List[str]:
    try:
        with open(path) as f:
            return [str(name) for name in json.load(f)['files']]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OutputError(f'cannot read the manifest {path} ({e}); move the '
                          'folder away or repair the file')


def written_files(root: str) -> Set[str]:
    """The files under ``root`` that a manifest (``root``'s or a
    subfolder's) lists as written by the project.

    Args:
        root (str): A folder.

    Returns:
        set[str]: Paths relative to ``root`` that exist.

    Raises:
        OutputError: A manifest cannot be read.
    """
    own = set()
    for folder, _, files in os.walk(root):
        if MANIFEST in files:
            rel = osp.relpath(folder, root)
            own.update(
                osp.normpath(osp.join(rel, name))
                for name in _read_manifest(osp.join(folder, MANIFEST)))
    return own & _files(root)


def _write_manifest(root: str, writer: str, files: Iterable[str]) -> None:
    path = osp.join(root, MANIFEST)
    with open(path + '.tmp', 'w') as f:  # replaced whole: never half written
        json.dump(dict(written_by=writer, files=sorted(set(files))), f)
    os.replace(path + '.tmp', path)


def _named(paths: Iterable[str], root: str, limit: int = 10) -> str:
    paths = sorted(paths)
    shown = ', '.join(osp.join(root, p) for p in paths[:limit])
    more = f' and {len(paths) - limit} more' if len(paths) > limit else ''
    return f'{len(paths)} file(s): {shown}{more}'


def remove_written(root: str) -> List[str]:
    """Remove the files that the manifests under ``root`` list, the
    manifests, and the folders this leaves empty; nothing else.

    Args:
        root (str): A folder (nothing happens when it does not exist).

    Returns:
        list[str]: The files left because no manifest lists them (relative
        to ``root``).

    Raises:
        OutputError: A manifest cannot be read.
    """
    if not osp.isdir(root):
        return []
    own = written_files(root)
    for rel in own:
        os.remove(osp.join(root, rel))
    for folder, _, files in os.walk(root):
        if MANIFEST in files:
            os.remove(osp.join(folder, MANIFEST))
    for folder, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        if not os.listdir(folder):
            os.rmdir(folder)  # empty: nothing of anyone's is lost
    return sorted(_files(root)) if osp.isdir(root) else []


@contextlib.contextmanager
def output_dir(path: str,
               writer: str,
               overwrite: bool = False,
               fresh: bool = True,
               accept: Optional[Callable[[str], bool]] = None,
               record: bool = True) -> Iterator[str]:
    """Claim the folder ``path`` for ``writer``; record what it writes.

    On entry the folder is created if needed and refused when it holds a
    file that no manifest lists (and ``accept`` does not accept). With
    ``fresh=True`` (a dataset writer, whose folder must hold exactly what
    it writes now) the files of an earlier run are refused too, or with
    ``overwrite=True`` removed (those only, by the manifests). On exit,
    also when the body raises, the manifest lists the files of earlier runs
    still there and every file that appeared. Typical use::

        with output_dir(args.out, 'tools/dataset_converters/x2coco.py',
                        overwrite=args.overwrite):
            ...  # write anything below args.out

    Args:
        path (str): The folder.
        writer (str): Who writes, for the messages and the manifest.
        overwrite (bool): Remove the files of an earlier run (``fresh``
            only). Defaults to False.
        fresh (bool): Start from an empty folder. False for folders that
            runs add to (work directories). Defaults to True.
        accept (callable, optional): ``accept(relative_path)`` True for a
            file that may be there without a manifest (e.g. what MMEngine
            writes into a work directory); such files are neither refused
            nor recorded. Defaults to None.
        record (bool): Write the manifest on exit (False on the other
            ranks of a distributed run). Defaults to True.

    Yields:
        str: ``path``.

    Raises:
        OutputError: ``path`` is a file, holds files the project did not
            write (named, up to 10), or, with ``fresh`` and without
            ``overwrite``, files of an earlier run.
    """
    if osp.exists(path) and not osp.isdir(path):
        raise OutputError(f'{writer} writes a folder at {path}, but a file '
                          'is there; choose another path')
    os.makedirs(path, exist_ok=True)
    before = _files(path)
    own = written_files(path)
    foreign = {f for f in before - own if not (accept and accept(f))}
    if foreign:
        raise OutputError(
            f'{writer} writes to {path}: expected an empty folder or one '
            'holding only what mmconvmlp wrote there; found '
            f'{_named(foreign, path)} that it did not write. Nothing was '
            'written or deleted; choose another folder, or move them away.')
    if fresh and own:
        if not overwrite:
            raise OutputError(
                f'{writer} writes to {path}: expected an empty folder; found '
                f'{_named(own, path)} of an earlier run. Pass --overwrite to '
                f'replace them (only the files its {MANIFEST} lists).')
        remove_written(path)
        os.makedirs(path, exist_ok=True)
        before, own = _files(path), set()
    try:
        yield path
    finally:
        if record:
            new = _files(path) - before
            _write_manifest(path, writer, (own & _files(path)) | new)


def output_file(path: str, writer: str) -> str:
    """Claim the file ``path`` for ``writer`` before it is written.

    A file already at ``path`` is refused unless the manifest of its folder
    lists it (an earlier run wrote it); the name is added to that manifest
    first, so a run that stops half-way leaves it claimed.

    Args:
        path (str): The file to write.
        writer (str): Who writes, for the message and the manifest.

    Returns:
        str: ``path``.

    Raises:
        OutputError: ``path`` exists and the project did not write it.
    """
    folder, name = osp.split(osp.normpath(path))
    folder = folder or '.'
    manifest = osp.join(folder, MANIFEST)
    listed = _read_manifest(manifest) if osp.isfile(manifest) else []
    if osp.lexists(path) and name not in listed:
        raise OutputError(
            f'{writer} writes {path}: expected no file there, or one it '
            'wrote; found a file it did not write. Nothing was written; '
            'choose another name, or move it away.')
    os.makedirs(folder, exist_ok=True)
    if name not in listed:
        _write_manifest(folder, writer, listed + [name])
    return path
