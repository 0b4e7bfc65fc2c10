# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Reading checkpoints weights-only and checking them before they load.

MMEngine 0.10.7 loads whole models non-strictly (layers a file does not fill
keep their random weights, with a printed warning) and downloads http(s)
checkpoints, also those its ``torchvision://``, ``open-mmlab://`` and
``mmcls://`` schemes name, through ``torch.hub.load_state_dict_from_url``
with ``weights_only=False``, so a hostile file runs its code. This module
reads files with torch's own weights-only loading, and checks a state dict
against a model before it is loaded. Nothing here changes MMEngine or torch
when imported: :func:`enable_safe_loading` does, when a tool or the opt-in
``mmconvmlp.SafeLoadingHook`` asks for it.
"""
import contextlib
import functools
import hashlib
import os
import os.path as osp
import pickle
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log

from .ckpt_convert import convert_key, convert_state_dict_keys, original_key

#: What :func:`check_checkpoint` accepts.
POLICIES = ('strict', 'finetune', 'resume')


class CheckpointError(RuntimeError):
    """A checkpoint was refused or does not fit; the message names the file
    and why. The tools print it alone and exit with status 1."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint does not fit the model it is loaded into."""


def _history_buffer_getattr(obj, name: str):
    """``getattr`` for ``HistoryBuffer`` statistics methods only.

    A pickled ``HistoryBuffer`` stores its statistics functions as
    ``getattr(HistoryBuffer, 'min')``; allowing the real ``getattr`` would
    let a file reach any attribute of any object.
    """
    from mmengine.logging import HistoryBuffer

    # The default statistics and any registered with register_statistics.
    allowed = {'min', 'max', 'current', 'mean'}
    if obj is HistoryBuffer and name in allowed | set(
            HistoryBuffer._statistics_methods):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights-only load: getattr({obj!r:.60}, {name!r}) is not allowed')


def mmengine_safe_globals() -> list:
    """The classes MMEngine's checkpoints hold besides tensors
    (``MessageHub``'s ``HistoryBuffer`` with numpy arrays and scalars), in the
    form ``torch.serialization.safe_globals`` takes. Found with
    ``torch.serialization.get_unsafe_globals_in_checkpoint``."""
    from mmengine.logging import HistoryBuffer
    multiarray = (np._core if hasattr(np, '_core') else np.core).multiarray
    items = [
        HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'),
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
    ]
    # numpy 1 names, in older files
    items += [(f, f'numpy.core.multiarray.{f.__name__}')
              for f in (multiarray._reconstruct, multiarray.scalar)]
    items += [
        c for c in vars(np.dtypes).values()
        if isinstance(c, type) and issubclass(c, np.dtype)
    ]
    return items


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


#: Read by ``torch.load`` at each call; it overrides even an explicit
#: ``weights_only=False`` (which ``torch.hub.load_state_dict_from_url`` and
#: so MMEngine's URL schemes pass).
_FORCE_WEIGHTS_ONLY = 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'


@contextlib.contextmanager
def weights_only_loading():
    """Within the block every ``torch.load`` of this process is weights-only,
    with the classes of :func:`mmengine_safe_globals` allowed; both are
    undone on leaving it (torch's ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` variable
    and ``torch.serialization.safe_globals``)."""
    old = os.environ.get(_FORCE_WEIGHTS_ONLY)
    os.environ[_FORCE_WEIGHTS_ONLY] = '1'
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            yield
    finally:
        if old is None:
            os.environ.pop(_FORCE_WEIGHTS_ONLY, None)
        else:
            os.environ[_FORCE_WEIGHTS_ONLY] = old


def _refused(filename: str, error: Exception) -> CheckpointError:
    # torch's message wraps the refused global in paragraphs of advice.
    lines = [ln for ln in str(error).splitlines() if ln.strip()] or ['?']
    first = next(
        (ln for ln in lines if 'global' in ln.lower() or 'not allowed' in ln),
        lines[-1])[:300]
    return CheckpointError(
        f'checkpoint {filename} refused: it holds code or a class that '
        f'weights-only loading does not allow ({first}); nothing of it ran. '
        'Only if you trust the file, rewrite it as tensors and plain types '
        '(this runs its code): python tools/model_converters/'
        f'convmlp2mmconvmlp.py --trust-source {filename} NEW.pth')


def load_checkpoint_file(filename: str,
                         map_location='cpu',
                         sha256: Optional[str] = None):
    """Read a checkpoint weights-only: tensors, containers and the classes of
    MMEngine checkpoints (:func:`mmengine_safe_globals`), nothing else.

    Args:
        filename (str): Local path, or http(s) URL (downloaded once to the
            torch hub cache; a hash prefix in the file name, torch hub's
            ``name-<sha256 prefix>.ext``, is checked), or any other scheme
            of MMEngine's ``CheckpointLoader`` (``torchvision://``,
            ``open-mmlab://``, ``mmcls://``, ``s3://``, ...), read by its
            loader under :func:`weights_only_loading`.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
        sha256 (str, optional): The file's full SHA-256 as ``sha256sum``
            prints it; another file is refused. Defaults to None.

    Returns:
        The unpickled object (usually a dict).

    Raises:
        CheckpointError: No such file; not the pinned SHA-256; code or a
            class weights-only loading refuses (nothing of it ran); or not
            readable as a checkpoint. The message names the file.
    """
    remote = filename.startswith(('http://', 'https://'))
    try:
        with weights_only_loading():
            if '://' in filename and not remote and not sha256:
                from mmengine.runner import CheckpointLoader
                return CheckpointLoader.load_checkpoint(filename, map_location)
            if remote and not sha256:
                return torch.hub.load_state_dict_from_url(
                    filename,
                    map_location=map_location,
                    check_hash=True,
                    weights_only=True)
            path = filename
            if remote:
                path = osp.join(torch.hub.get_dir(), 'checkpoints',
                                osp.basename(filename))
                if not osp.isfile(path):
                    torch.hub.download_url_to_file(
                        filename, path, hash_prefix=sha256)
            if not osp.isfile(path):
                raise CheckpointError(f'checkpoint {filename}: no such file')
            actual = _sha256(path) if sha256 else None
            if actual is not None and actual != sha256.lower():
                raise CheckpointError(
                    f'checkpoint {filename} refused: its SHA-256 is '
                    f'{actual}, pinned {sha256}')
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as e:
        raise _refused(filename, e) from None
    except Exception as e:  # noqa: BLE001  (re-raised naming the file)
        raise CheckpointError(f'checkpoint {filename} cannot be read: '
                              f'{type(e).__name__}: {e}') from e


def _load_local(filename: str, map_location=None):
    return load_checkpoint_file(osp.expanduser(filename), map_location)


def _load_http(filename: str, map_location=None, model_dir=None, **_):
    return load_checkpoint_file(filename, map_location)


def _weights_only(loader):
    """``loader`` (a ``CheckpointLoader`` scheme) run under
    :func:`weights_only_loading`; a refused file raises CheckpointError."""

    @functools.wraps(loader)  # MMEngine logs the loader's name
    def load(filename, map_location=None):
        try:
            with weights_only_loading():
                return loader(filename, map_location)
        except pickle.UnpicklingError as e:
            raise _refused(filename, e) from None

    load.weights_only = True
    return load


def enable_safe_loading() -> None:
    """Make every scheme of MMEngine's ``CheckpointLoader`` weights-only, for
    the rest of this process: local and http(s) files are read by
    :func:`load_checkpoint_file`; every other registered scheme
    (``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``mmcls://``,
    ``pavi://``, ``s3://``, ...; they resolve a name, then call MMEngine's
    http loader or ``torch.load`` directly) runs under
    :func:`weights_only_loading`.

    ``tools/train.py``, ``test.py``, ``infer.py`` and
    ``deployment/pytorch2onnx.py`` call it; a run of the stock
    MMDetection/MMSegmentation tools opts in through
    ``custom_hooks=[dict(type='mmconvmlp.SafeLoadingHook')]``. Schemes
    registered later are not covered. Idempotent.
    """
    from mmengine.runner import CheckpointLoader

    # The registered prefixes are only readable from the class's table.
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if prefix == '':
            loader = _load_local
        elif prefix in ('http://', 'https://'):
            loader = _load_http
        elif not getattr(loader, 'weights_only', False):
            loader = _weights_only(loader)
        CheckpointLoader.register_scheme(prefix, loader, force=True)


def _convmlp_prefixes(model: nn.Module) -> List[str]:
    # ConvMLP marks itself (``converts_authors_keys``) rather than being
    # imported here: the backbone imports this module.
    return sorted((f'{n}.' if n else '' for n, m in model.named_modules()
                   if getattr(m, 'converts_authors_keys', False)),
                  key=len,
                  reverse=True)


def check_state_dict(model: nn.Module, state_dict: dict) -> Dict[str, list]:
    """Compare a state dict with a model as loading it would, loading nothing.

    DDP's ``module.`` prefix is removed and every ConvMLP's keys are
    converted (:func:`~.ckpt_convert.convert_key`), as loading does.

    Args:
        model (nn.Module): The model (a wrapper such as DDP is unwrapped).
        state_dict (dict): The tensors to load.

    Returns:
        dict: ``missing``, ``unexpected`` and ``mismatched``: lists of
        ``(model key, file key, file shape, model shape)``, in model order
        (file order for ``unexpected``). ``num_batches_tracked`` is never
        missing.
    """
    model = getattr(model, 'module', model)
    prefixes = _convmlp_prefixes(model)
    expected = model.state_dict()
    loaded = {}  # model key -> file key
    for file_key in state_dict:
        key = file_key[7:] if file_key.startswith('module.') else file_key
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        if prefix is not None:
            new = convert_key(key[len(prefix):])
            if new is None:
                continue  # classifier keys: the backbone drops them
            key = prefix + new
        loaded[key] = file_key

    def shape(t):
        return tuple(t.shape) if hasattr(t, 'shape') else None

    report = dict(missing=[], unexpected=[], mismatched=[])
    for key, tensor in expected.items():
        file_key = loaded.get(key)
        if file_key is None:
            if not key.endswith('num_batches_tracked'):
                report['missing'].append((key, None, None, shape(tensor)))
        elif shape(state_dict[file_key]) != shape(tensor):
            report['mismatched'].append(
                (key, file_key, shape(state_dict[file_key]), shape(tensor)))
    report['unexpected'] = [(key, f, shape(state_dict[f]), None)
                            for key, f in loaded.items()
                            if key not in expected]
    return report


def describe(report: Dict[str, list],
             keep=lambda part: True,
             limit: int = 3) -> List[str]:
    """One line per model part and kind of problem, naming the first keys.

    Args:
        report (dict): From :func:`check_state_dict`.
        keep (callable): Parts (``backbone``, ``neck``, ``bbox_head``, ...)
            to describe. Defaults to all.
        limit (int): Keys named per line. Defaults to 3.

    Returns:
        list[str]: E.g. ``'  backbone: 2 missing keys: stem.0.conv.weight
        (tokenizer.block.0.weight in the authors' layout), ...'``.
    """
    lines = []
    for kind, items in report.items():
        by_part: Dict[str, list] = {}
        for key, file_key, file_shape, model_shape in items:
            part = key.split('.', 1)[0]
            if not keep(part):
                continue
            text = file_key or key
            authors = original_key(key.split('backbone.', 1)[-1])
            if kind == 'missing' and authors != key.split('backbone.')[-1]:
                text += f" ({authors} in the authors' layout)"
            if kind == 'mismatched':
                text += f' (file {file_shape}, model {model_shape})'
            by_part.setdefault(part, []).append(text)
        for part, names in by_part.items():
            more = f' ... and {len(names) - limit} more' if len(
                names) > limit else ''
            word = {'mismatched': 'shape mismatch'}.get(kind, kind + ' key')
            lines.append(f'  {part}: {len(names)} {word}(s): ' +
                         ', '.join(names[:limit]) + more)
    return lines


def check_checkpoint(model: nn.Module,
                     checkpoint: dict,
                     policy: str = 'strict',
                     source: Optional[str] = None) -> List[str]:
    """Refuse, before loading, a whole-model checkpoint that would leave the
    model partly loaded.

    Policies: ``'strict'`` (testing, inference): every tensor filled, none
    unexpected or of another shape. ``'finetune'`` (``load_from``): strict
    for every part but the heads; head tensors of another shape (another
    class count) or missing on either side are skipped: the state dict is
    edited in place so they keep their initialised values. ``'resume'``:
    strict, and the file holds the training state.

    Args:
        model (nn.Module): The model (wrappers are unwrapped).
        checkpoint (dict): As read from the file (with ``state_dict``, or a
            plain state dict).
        policy (str): One of :data:`POLICIES`. Defaults to ``'strict'``.
        source (str, optional): The file, for the messages.

    Returns:
        list[str]: For ``'finetune'``, lines naming the skipped head
        tensors (empty otherwise).

    Raises:
        CheckpointMismatchError: It does not fit under ``policy``; the
            message names the parts and their first keys.
        ValueError: An unknown ``policy``.
    """
    if policy not in POLICIES:
        raise ValueError(f'policy must be one of {POLICIES}, got {policy!r}')
    what = f'checkpoint {source}' if source else 'the checkpoint'
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'{what} is not a dict of tensors (got '
            f'{type(checkpoint).__name__}); nothing was loaded.')
    meta = checkpoint.get('meta')
    if policy == 'resume' and not ('message_hub' in checkpoint and isinstance(
            meta, dict) and 'iter' in meta):
        raise CheckpointMismatchError(
            f'{what} holds no training state (message_hub, meta iter): it '
            'cannot be resumed. To start from its weights, use load_from: '
            f'tools/train.py CONFIG --cfg-options load_from={source}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    report = check_state_dict(model, state_dict)
    finetune = policy == 'finetune'
    blocking = describe(report, lambda p: not (finetune and 'head' in p))
    if blocking:
        hint = ('Fine-tuning needs every backbone and neck weight; a backbone-'
                'only file belongs in model.backbone.init_cfg=dict(type='
                "'Pretrained', checkpoint=...)." if finetune else
                'Use the config the checkpoint was trained with (same arch, '
                'neck and classes); to fine-tune into other classes, give it '
                'to tools/train.py as load_from.')
        raise CheckpointMismatchError(
            '\n'.join([f'{what} does not fit the model; nothing was loaded:'] +
                      blocking + [hint]))
    if not finetune:
        return []
    current = getattr(model, 'module', model).state_dict()
    for key, file_key, _, _ in report['mismatched'] + report['unexpected']:
        del state_dict[file_key]
    for key, _, _, _ in report['mismatched'] + report['missing']:
        state_dict[key] = current[key]
    return describe(report, lambda p: 'head' in p, limit=6)


def load_backbone_checkpoint(model: nn.Module,
                             filename: str,
                             prefix: Optional[str] = None,
                             sha256: Optional[str] = None) -> None:
    """Fill every tensor of a ConvMLP from a checkpoint, or raise.

    Args:
        model (ConvMLP): The backbone.
        filename (str): Local path or URL (see :func:`load_checkpoint_file`).
        prefix (str, optional): Take the keys under this prefix. By default
            ``backbone.`` where any key has it (the authors' detection and
            segmentation files), else all (their ImageNet classifiers).
        sha256 (str, optional): See :func:`load_checkpoint_file`.

    Raises:
        CheckpointError: See :func:`load_checkpoint_file`; or the file does
            not fill the backbone exactly (the keys are named; nothing is
            loaded).
    """
    checkpoint = load_checkpoint_file(filename, 'cpu', sha256)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {filename} is not a dict')
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {
        (k[7:] if k.startswith('module.') else k): v
        for k, v in state_dict.items()
    }
    if prefix is None and any(k.startswith('backbone.') for k in state_dict):
        prefix = 'backbone.'
    if prefix:
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    convert_state_dict_keys(state_dict)
    lines = describe(check_state_dict(model, state_dict), limit=8)
    if lines:
        raise CheckpointError('\n'.join([
            f'ConvMLP: checkpoint {filename} does not fit this backbone '
            f'(arch {model.arch_settings}); nothing was loaded:'
        ] + lines + [
            "  Set init_cfg['prefix'] if its backbone keys carry another "
            'prefix than backbone.'
        ]))
    model.load_state_dict(state_dict)
    print_log(
        f'ConvMLP: loaded {len(state_dict)} tensors from {filename}',
        logger='current')
