# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Checkpoints a killed run can resume from.

- :class:`AtomicLocalBackend` (registered on ``import mmconvmlp``): MMEngine
  writes checkpoints through its file backend's ``put``, which opens the
  final name and writes into it, so a run killed meanwhile leaves a
  truncated file. This one writes a temporary file in the same folder and
  renames it (``os.replace``): the checkpoint is whole or absent.
- :func:`find_resume_checkpoint`: what ``tools/train.py --resume`` continues
  from: the newest complete checkpoint of the work directory.
- :func:`setup_resume`: ``--resume`` for the tools, with the
  :class:`mmconvmlp.ResumeStateHook` that makes a resumed run the same run.
"""
import os
import os.path as osp
import re
import uuid
import zipfile
from typing import Optional, Union

from mmengine.fileio import LocalBackend, register_backend

_NUMBERED = re.compile(r'^(epoch|iter)_\d+\.pth$')
_HOOK = 'mmconvmlp.ResumeStateHook'


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with all-or-nothing writes.

    ``put`` writes ``.<name>.<pid>.<random>.tmp`` next to the target,
    flushes it to disk (``fsync``) and renames it over the target. A process
    killed before the rename leaves only that hidden temporary file, which
    nothing reads; the target keeps its previous content, if any.
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        """Write ``obj`` to ``filepath`` atomically (folders are created)."""
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        tmp = osp.join(
            folder, f'.{osp.basename(filepath)}.{os.getpid()}.'
            f'{uuid.uuid4().hex[:8]}.tmp')
        try:
            with open(tmp, 'xb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically."""
        self.put(obj.encode(encoding), filepath)


_registered = False


def register_atomic_backend() -> None:
    """Make :class:`AtomicLocalBackend` MMEngine's backend for local paths.

    Replaces the ``'local'`` backend (prefix ``''``) and drops the cached
    plain ``LocalBackend`` instances of ``get_file_backend``. Idempotent;
    ``import mmconvmlp`` calls it.
    """
    global _registered
    if _registered:
        return
    from mmengine.fileio import io as mmengine_io
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    for key, backend in list(mmengine_io.backend_instances.items()):
        if type(backend) is LocalBackend:
            del mmengine_io.backend_instances[key]
    _registered = True


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole checkpoint file, not a truncated one.

    ``torch.save`` writes a zip archive whose directory comes last, so a
    file cut short by a crash is not a readable archive. Cheap: reads the
    end of the file only.
    """
    return osp.isfile(path) and zipfile.is_zipfile(path)


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from.

    The candidates are the file MMEngine's ``last_checkpoint`` names (also
    looked up in ``work_dir`` itself, if the work directory moved) and the
    ``epoch_<n>.pth`` / ``iter_<n>.pth`` files of ``work_dir``; the newest
    complete one (by modification time) wins. A run killed between writing
    a checkpoint and ``last_checkpoint`` therefore resumes from that
    checkpoint, and a truncated file is never chosen.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: The checkpoint, or None when there is none.
    """
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            candidates += [named, osp.join(work_dir, osp.basename(named))]
    if osp.isdir(work_dir):
        candidates += [
            osp.join(work_dir, name) for name in sorted(os.listdir(work_dir))
            if _NUMBERED.match(name)
        ]
    complete = [
        p for p in dict.fromkeys(candidates) if is_complete_checkpoint(p)
    ]
    return max(complete, key=osp.getmtime, default=None)


def add_resume_state_hook(cfg) -> None:
    """Append :class:`mmconvmlp.ResumeStateHook` to ``cfg.custom_hooks``
    unless the config has it already."""
    hooks = list(cfg.get('custom_hooks') or [])
    for hook in hooks:
        kind = hook.get('type') if isinstance(hook, dict) else None
        name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
        if name.split('.')[-1] == 'ResumeStateHook':
            return
    cfg.custom_hooks = hooks + [dict(type=_HOOK)]


def setup_resume(cfg, resume: Optional[str]) -> Optional[str]:
    """``tools/train.py --resume`` (``'auto'`` without a value).

    Adds :class:`mmconvmlp.ResumeStateHook` (every run saves its generator
    states, so that any of its checkpoints can be resumed exactly). With
    ``'auto'`` the run resumes from :func:`find_resume_checkpoint`; when
    the work directory holds none, it starts from the beginning as without
    ``--resume`` (the config's ``load_from``, if any, is loaded), and the
    returned warning says so.

    Args:
        cfg (Config): The config, modified in place.
        resume (str, optional): ``--resume``'s value: None, ``'auto'`` or
            a checkpoint.

    Returns:
        str | None: A warning for the run's log, or None.
    """
    add_resume_state_hook(cfg)
    if resume is None:
        return None
    if resume != 'auto':
        cfg.resume, cfg.load_from = True, resume
        return None
    found = find_resume_checkpoint(cfg.work_dir)
    if found is not None:
        cfg.resume, cfg.load_from = True, found
        return None
    cfg.resume = False
    return (f'--resume: no checkpoint to resume from in '
            f'{osp.abspath(cfg.work_dir)}; training starts from the '
            'beginning.')
