# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Reading ConvMLP checkpoints (the authors' layout and this project's), and
checking a whole model's checkpoint before it is loaded.

The authors' files (https://github.com/SHI-Labs/Convolutional-MLPs) name the
stem ``tokenizer.block.{0..8}``, the conv stage ``conv_stages`` and the MLP
sub-layers ``channel_mlp{1,2}``, ``connect`` and ``connect_norm``; classifiers
add ``norm`` and ``head``, and the mmdet 2.x / mmseg 0.x files wrap everything
under ``state_dict`` with a ``backbone.`` prefix and keep the class names in
``meta['CLASSES']`` (and ``meta['PALETTE']``). :func:`convert_key` maps one
backbone key onto :class:`mmconvmlp.ConvMLP`'s names; ``ConvMLP`` applies it
whenever a state dict is loaded into it, so every loader (MMEngine's runner,
the inferencers, ``torch.nn.Module.load_state_dict``) takes either layout.

MMEngine loads whole models non-strictly: a checkpoint that leaves layers
unfilled only prints a warning. :func:`check_state_dict` and
:func:`check_checkpoint` find such files before they are loaded
(:class:`mmconvmlp.engine.CheckpointCheckHook` runs them in the runner).
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn

from mmconvmlp.utils.checks import ToolError

# The two layouts, as (authors' prefix, this project's prefix) of keys
# relative to the backbone; '#' is any index, carried over. The stem and the
# conv blocks were Sequential(conv, bn, relu) x3 (positions 0/1, 3/4, 6/7);
# here they are three ConvModules. No authors' prefix is a prefix of a name in
# this project's layout, which makes the conversion idempotent.
_LAYOUTS = [
    *((f'tokenizer.block.{3 * i + j}.', f'stem.{i}.{layer}.') for i in range(3)
      for j, layer in enumerate(('conv', 'bn'))),
    *((f'conv_stages.conv_blocks.#.{3 * i + j}.',
       f'conv_stage.blocks.#.layers.{i}.{layer}.') for i in range(3)
      for j, layer in enumerate(('conv', 'bn'))),
    ('conv_stages.downsample.', 'conv_stage.downsample.'),
    ('stages.#.downsample_mlp.downsample.', 'stages.#.downsample.'),
    ('stages.#.blocks.#.channel_mlp1.', 'stages.#.blocks.#.mlp1.'),
    ('stages.#.blocks.#.channel_mlp2.', 'stages.#.blocks.#.mlp2.'),
    ('stages.#.blocks.#.connect_norm.', 'stages.#.blocks.#.norm_dw.'),
    ('stages.#.blocks.#.connect.', 'stages.#.blocks.#.dwconv.'),
]


def _rules(to_project: bool) -> list:
    """(pattern, replacement) of :data:`_LAYOUTS` in one direction."""
    rules = []
    for authors, project in _LAYOUTS:
        src, dst = (authors, project) if to_project else (project, authors)
        pattern = '^' + re.escape(src).replace(r'\#', r'(\d+)')
        groups = iter(range(1, 10))  # '#' -> \1, \2, ... in order
        rules.append((re.compile(pattern),
                      re.sub('#', lambda _: f'\\{next(groups)}', dst)))
    return rules


_RENAMES = _rules(to_project=True)
# The way back, only to name a missing key as an authors' file spells it.
_ORIGINAL = _rules(to_project=False)
_CLASSIFIER = re.compile(r'^(norm|head)\.')
_WRAPPERS = ('state_dict', 'model')
_DDP = 'module.'
#: What :func:`check_checkpoint` and ``CheckpointCheckHook`` accept.
POLICIES = ('strict', 'finetune', 'resume')


def _rename(rules, name: str) -> str:
    for pattern, repl in rules:
        new, n = pattern.subn(repl, name, count=1)
        if n:
            return new
    return name


def convert_key(name: str) -> Optional[str]:
    """One ConvMLP state-dict key in this project's layout.

    Args:
        name (str): A key relative to the backbone (no ``backbone.``
            prefix), in the authors' layout or this project's, e.g.
            ``'tokenizer.block.0.weight'``.

    Returns:
        str | None: The key under :class:`mmconvmlp.ConvMLP`'s names
        (``'stem.0.conv.weight'``; a key already in that layout comes back
        unchanged), or None for the classifier-only ``norm.*`` and
        ``head.*`` keys, which a backbone has no use for. Idempotent:
        ``convert_key(convert_key(k)) == convert_key(k)``.
    """
    if _CLASSIFIER.match(name):
        return None
    return _rename(_RENAMES, name)


def original_key(name: str) -> str:
    """The authors' name of a ConvMLP key (the inverse of :func:`convert_key`
    on backbone keys), for messages about an authors' file.

    Args:
        name (str): A key relative to the backbone, in this project's layout.

    Returns:
        str: The key as the authors' files spell it.
    """
    return _rename(_ORIGINAL, name)


def convert_state_dict_keys(state_dict: dict, prefix: str = '') -> bool:
    """Rename, in place and in order, the keys of one ConvMLP inside a state
    dict.

    This is what :meth:`mmconvmlp.ConvMLP._load_from_state_dict` does before
    its layers read their tensors.

    Args:
        state_dict (dict): Keys to tensors; only the keys that start with
            ``prefix`` are touched.
        prefix (str): Where the ConvMLP sits, e.g. ``'backbone.'``; ``''``
            for a state dict of the backbone alone. Defaults to ``''``.

    Returns:
        bool: Whether any key was in the authors' layout. Classifier keys
        (``prefix + 'norm.*'``, ``prefix + 'head.*'``) are removed.
    """
    renamed, items = False, []
    for key, value in state_dict.items():
        if key.startswith(prefix):
            name = key[len(prefix):]
            new = convert_key(name)
            if new is None:
                continue
            if new != name:
                key, renamed = prefix + new, True
        items.append((key, value))
    if renamed or len(items) != len(state_dict):
        state_dict.clear()  # keeps an OrderedDict's _metadata
        state_dict.update(items)
    return renamed


def _unwrap(checkpoint) -> dict:
    """The state dict of a checkpoint (under ``state_dict`` or ``model``, or
    the dict itself), with DDP's ``module.`` prefix removed."""
    if not isinstance(checkpoint, dict):
        raise TypeError('a ConvMLP checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    state_dict = checkpoint
    for key in _WRAPPERS:
        if isinstance(state_dict.get(key), dict):
            state_dict = state_dict[key]
            break
    return OrderedDict((k[len(_DDP):] if k.startswith(_DDP) else k, v)
                       for k, v in state_dict.items())


def _backbone_items(checkpoint, prefix: Optional[str]) -> 'OrderedDict':
    """The backbone's entries of a checkpoint, ``prefix`` stripped; names not
    converted."""
    state_dict = _unwrap(checkpoint)
    if prefix is None and any(k.startswith('backbone.') for k in state_dict):
        prefix = 'backbone.'
    if not prefix:
        return state_dict
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def convert_convmlp_checkpoint(
        checkpoint: dict,
        prefix: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Map a ConvMLP checkpoint onto :class:`mmconvmlp.ConvMLP`'s parameter
    names.

    A pure function: the input is not modified, and converting its own output
    again returns the same dict.

    Args:
        checkpoint (dict): A plain state dict, or a dict holding one under
            ``'state_dict'`` or ``'model'``; names in the original layout or
            this project's, optionally prefixed by ``module.`` (DDP) and/or
            ``backbone.`` (the authors' detection/segmentation files and this
            project's detectors).
        prefix (str, optional): Keep only the keys under this prefix (for
            example ``'backbone.'``) and strip it. By default ``backbone.`` is
            selected when any key has it, and everything is kept otherwise.

    Returns:
        OrderedDict[str, Tensor]: Backbone tensors under ConvMLP's names
        (:func:`convert_key`). The classifier's ``norm.*`` and ``head.*``
        entries are dropped.

    Raises:
        TypeError: ``checkpoint`` is not a dict.
    """
    state_dict = _backbone_items(checkpoint, prefix)
    convert_state_dict_keys(state_dict)
    return state_dict


def convert_meta(meta: Optional[dict],
                 dataset_meta: Optional[dict] = None) -> dict:
    """MMEngine-style checkpoint ``meta`` from any ConvMLP checkpoint's.

    The class names and palette of mmdet 2.x / mmseg 0.x files
    (``meta['CLASSES']``, ``meta['PALETTE']``) move to
    ``meta['dataset_meta'] = {'classes': ..., 'palette': ...}``, where
    MMDetection 3 and MMSegmentation 1 (inferencers, ``init_detector``,
    ``init_model``) read them first; ``mmconvmlp_version`` is set. Other
    entries are kept. Idempotent.

    Args:
        meta (dict, optional): The file's ``meta``.
        dataset_meta (dict, optional): Class names (and palette) to write
            when the file has none, e.g. from a config's test dataset.

    Returns:
        dict: The new ``meta`` (the input is not modified).
    """
    from mmconvmlp.version import __version__
    out = dict(meta or {})
    names = {k.lower(): v for k, v in (out.get('dataset_meta') or {}).items()}
    for old, new in (('CLASSES', 'classes'), ('PALETTE', 'palette')):
        value = out.pop(old, None)
        if value is not None:
            names.setdefault(new, value)
    if 'classes' not in names and dataset_meta:
        names = {**{k.lower(): v for k, v in dataset_meta.items()}, **names}
    if names:
        out['dataset_meta'] = names
    out['mmconvmlp_version'] = __version__
    return out


def convert_checkpoint(checkpoint: dict,
                       dataset_meta: Optional[dict] = None) -> dict:
    """Any accepted ConvMLP checkpoint as a file of this project's layout.

    Whole models (a ``backbone.`` prefix: the authors' detection and
    segmentation files, this project's checkpoints) keep every key, with the
    backbone's converted; backbone-only files (the authors' ImageNet
    classifiers) become a ConvMLP state dict without the classifier. The
    training state (optimizer, schedulers) is not carried over. Converting
    the output again gives the same file.

    Args:
        checkpoint (dict): As read by ``torch.load``; see
            :func:`convert_convmlp_checkpoint` for the accepted forms.
        dataset_meta (dict, optional): See :func:`convert_meta`.

    Returns:
        dict: ``{'meta': convert_meta(...), 'state_dict': ...}``.

    Raises:
        TypeError: ``checkpoint`` is not a dict.
    """
    state_dict = _unwrap(checkpoint)
    wrapped = any(isinstance(checkpoint.get(k), dict) for k in _WRAPPERS)
    prefix = 'backbone.' if any(k.startswith('backbone.')
                                for k in state_dict) else ''
    convert_state_dict_keys(state_dict, prefix)
    meta = checkpoint.get('meta') if wrapped else None
    return {'meta': convert_meta(meta, dataset_meta), 'state_dict': state_dict}


# ------------------------------------------------------------ checking
class CheckpointMismatchError(ToolError):
    """A checkpoint does not fit the model it is loaded into.

    A :class:`~mmconvmlp.utils.ToolError` (a ``RuntimeError``): the tools
    print its message alone and exit with status 1.
    """


class KeyIssue(NamedTuple):
    """One key that keeps a checkpoint from filling a model exactly.

    Attributes:
        part (str): The model part: the first component of the key in the
            model (``'backbone'``, ``'neck'``, ``'bbox_head'``, ``'roi_head'``,
            ``'decode_head'``, ...).
        name (str): The key as the user's file spells it (a missing key of an
            authors'-layout file also gets its authors' name).
        model_key (str): The key in ``model.state_dict()`` (for an unexpected
            key: its name after conversion).
        file_key (str, optional): The key in the checkpoint's state dict;
            None for a missing key.
        file_shape (tuple, optional): Shape in the file (None if missing).
        model_shape (tuple, optional): Shape in the model (None if
            unexpected).
    """
    part: str
    name: str
    model_key: str
    file_key: Optional[str] = None
    file_shape: Optional[tuple] = None
    model_shape: Optional[tuple] = None


def _plural(n: int, word: str, plural: str) -> str:
    return f'{n} {word if n == 1 else plural}'


class StateDictReport(NamedTuple):
    """What :func:`check_state_dict` found, in model order (missing,
    mismatched) and file order (unexpected).

    Attributes:
        missing (list[KeyIssue]): Parameters and buffers the file leaves
            unfilled (BatchNorm ``num_batches_tracked`` is never counted).
        unexpected (list[KeyIssue]): File tensors that belong to no layer.
        mismatched (list[KeyIssue]): File tensors of another shape than the
            layer's.
    """
    missing: List[KeyIssue]
    unexpected: List[KeyIssue]
    mismatched: List[KeyIssue]

    @property
    def ok(self) -> bool:
        """Whether the file fills the model exactly."""
        return not (self.missing or self.unexpected or self.mismatched)

    def issues(self) -> List[Tuple[str, KeyIssue]]:
        """``(kind, issue)`` pairs, kind one of ``'missing'``,
        ``'mismatched'``, ``'unexpected'``."""
        return ([('missing', i) for i in self.missing] +
                [('mismatched', i)
                 for i in self.mismatched] + [('unexpected', i)
                                              for i in self.unexpected])

    def parts(self) -> List[str]:
        """The model parts with an issue, in order of appearance."""
        return list(dict.fromkeys(i.part for _, i in self.issues()))

    def select(self, keep: Callable[[str], bool]) -> 'StateDictReport':
        """The issues of the parts for which ``keep(part)`` is true."""
        return StateDictReport(*([i for i in issues if keep(i.part)]
                                 for issues in self))

    def describe(self, limit: int = 3, by_part: bool = True) -> List[str]:
        """Indented lines, one per part and kind of issue, each naming its
        first ``limit`` keys, e.g. ``'  backbone: 1 missing key: ...'``.

        Args:
            limit (int): Keys named per line. Defaults to 3.
            by_part (bool): One line per part and kind (True) or per kind
                (False: for a backbone alone). Defaults to True.
        """
        groups: Dict[Tuple[str, str], List[str]] = {}
        for kind, issue in self.issues():
            text = issue.name
            if kind == 'mismatched':
                text += (f' (file {issue.file_shape}, model '
                         f'{issue.model_shape})')
            part = issue.part if by_part else ''
            groups.setdefault((part, kind), []).append(text)
        words = dict(
            missing=('missing key', 'missing keys'),
            mismatched=('shape mismatch', 'shape mismatches'),
            unexpected=('unexpected key', 'unexpected keys'))
        order = self.parts() + ['']
        lines = []
        # Grouped by part (stable: kinds keep their order within a part).
        for (part, kind), names in sorted(
                groups.items(), key=lambda item: order.index(item[0][0])):
            more = (f' ... and {len(names) - limit} more'
                    if len(names) > limit else '')
            head = f'  {part}: ' if part else '  '
            lines.append(f'{head}{_plural(len(names), *words[kind])}: ' +
                         ', '.join(names[:limit]) + more)
        return lines


def _shape(tensor) -> Optional[tuple]:
    return tuple(tensor.shape) if hasattr(tensor, 'shape') else None


def _unwrap_model(model: nn.Module) -> nn.Module:
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def check_state_dict(
        model: nn.Module,
        state_dict: Mapping[str, torch.Tensor]) -> StateDictReport:
    """Compare a whole model's state dict with a model, as loading it would.

    The file's keys go through what loading does to them first: DDP's
    ``module.`` prefix is removed (MMEngine's ``revise_keys``), and the keys
    of every :class:`mmconvmlp.ConvMLP` inside ``model`` are converted
    (:func:`convert_key`, as ``ConvMLP._load_from_state_dict`` does). Nothing
    is loaded or modified.

    Args:
        model (nn.Module): The model (a model wrapper such as DDP is
            unwrapped), or a ConvMLP alone.
        state_dict (Mapping[str, Tensor]): The tensors to load.

    Returns:
        StateDictReport: Missing, unexpected and wrongly shaped keys, each
        with its model part (``key.split('.')[0]``).
    """
    from ..backbones.convmlp import ConvMLP  # that module imports this one
    model = _unwrap_model(model)
    prefixes = sorted(
        (f'{name}.' if name else ''
         for name, m in model.named_modules() if isinstance(m, ConvMLP)),
        key=len,
        reverse=True)
    expected = model.state_dict()
    loaded: Dict[str, str] = OrderedDict()  # model layout -> file key
    authors_layout = set()  # ConvMLP prefixes with keys in the authors' names
    for file_key in state_dict:
        key = file_key[len(_DDP):] if file_key.startswith(_DDP) else file_key
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        if prefix is not None:
            name = key[len(prefix):]
            new = convert_key(name)
            if new is None:
                continue  # classifier keys: dropped by the backbone
            if new != name:
                authors_layout.add(prefix)
            key = prefix + new
        loaded[key] = file_key

    def part(key):
        return key.split('.', 1)[0]

    def display(key):
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        if prefix not in authors_layout:
            return key
        return (f'{key} ({prefix}{original_key(key[len(prefix):])} in the '
                "authors' layout)")

    missing, mismatched, unexpected = [], [], []
    for key, tensor in expected.items():
        if key not in loaded:
            if not key.endswith('num_batches_tracked'):
                missing.append(
                    KeyIssue(
                        part(key),
                        display(key),
                        key,
                        model_shape=_shape(tensor)))
            continue
        file_key = loaded[key]
        file_shape = _shape(state_dict[file_key])
        if file_shape != _shape(tensor):
            name = file_key[len(_DDP):] if file_key.startswith(_DDP) \
                else file_key
            mismatched.append(
                KeyIssue(
                    part(key), name, key, file_key, file_shape,
                    _shape(tensor)))
    for key, file_key in loaded.items():
        if key not in expected:
            name = file_key[len(_DDP):] if file_key.startswith(_DDP) \
                else file_key
            unexpected.append(
                KeyIssue(
                    part(key), name, key, file_key,
                    _shape(state_dict[file_key])))
    return StateDictReport(missing, unexpected, mismatched)


def is_head_part(part: str) -> bool:
    """Whether a model part is a head (``bbox_head``, ``rpn_head``,
    ``roi_head``, ``decode_head``, ``auxiliary_head``, ...): the parts whose
    shapes follow the number of classes, which fine-tuning may replace."""
    return 'head' in part


def _refusal(what: str, report: StateDictReport, why: str,
             hint: str) -> CheckpointMismatchError:
    return CheckpointMismatchError('\n'.join(
        [f'{what} does not fit the model{why}; nothing was loaded:'] +
        report.describe() + [hint]))


def check_checkpoint(model: nn.Module,
                     checkpoint: dict,
                     policy: str = 'strict',
                     source: Optional[str] = None) -> StateDictReport:
    """Refuse a whole-model checkpoint that would leave the model partly
    loaded, before it is loaded.

    Policies:

    - ``'strict'`` (testing, inference): every parameter and buffer must be
      filled (BatchNorm ``num_batches_tracked`` aside), with no unexpected or
      wrongly shaped tensor.
    - ``'finetune'`` (``load_from`` in training): the backbone, the neck and
      any other part that is not a head must be filled exactly; head tensors
      of another shape (another number of classes), head tensors the file
      lacks and head tensors the model lacks are skipped: the file's state
      dict is edited **in place** so that those layers keep their current
      (initialised) values and the load is exact.
    - ``'resume'``: ``'strict'``, and the file must hold the training state
      that resuming restores (``message_hub``, ``meta['epoch']``,
      ``meta['iter']``).

    Args:
        model (nn.Module): The model the checkpoint is for (wrappers such as
            DDP are unwrapped).
        checkpoint (dict): The checkpoint as read from the file: a dict with
            a ``state_dict`` (and ``meta``), or a plain state dict, as
            MMEngine's ``_load_checkpoint_to_model`` takes it.
        policy (str): One of :data:`POLICIES`. Defaults to ``'strict'``.
        source (str, optional): The file, for the messages.

    Returns:
        StateDictReport: The head keys that were skipped (``'finetune'``;
        empty for the other policies).

    Raises:
        CheckpointMismatchError: The checkpoint does not fit under
            ``policy``. The message names each part concerned and the first
            keys of each kind.
        ValueError: ``policy`` is not one of :data:`POLICIES`.
    """
    if policy not in POLICIES:
        raise ValueError(f'policy must be one of {POLICIES}, got {policy!r}')
    what = f'checkpoint {source}' if source else 'the checkpoint'
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'{what} is not a dict of tensors (got '
            f'{type(checkpoint).__name__}); nothing was loaded.')
    if policy == 'resume':
        meta = checkpoint.get('meta')
        if ('message_hub' not in checkpoint or not isinstance(meta, dict)
                or 'epoch' not in meta or 'iter' not in meta):
            raise CheckpointMismatchError(
                f'{what} holds weights but no training state (message_hub, '
                'meta epoch and iter): it cannot be resumed. To start a '
                'training from its weights, use load_from: tools/train.py '
                f'CONFIG --cfg-options load_from={source or "FILE"}')
    # Where MMEngine's _load_checkpoint_to_model takes the tensors from.
    state_dict = checkpoint.get('state_dict', checkpoint)
    report = check_state_dict(model, state_dict)
    if policy != 'finetune':
        if not report.ok:
            raise _refusal(
                what, report, '',
                'Use the config the checkpoint was trained with (the same '
                'ConvMLP arch, neck and number of classes). To fine-tune it '
                'into a model with another number of classes, give it to '
                'tools/train.py as load_from.')
        return StateDictReport([], [], [])

    blocking = report.select(lambda p: not is_head_part(p))
    if not blocking.ok:
        raise _refusal(
            what, blocking, ' (fine-tuning needs every backbone and neck '
            'weight from the file)',
            'Use a checkpoint of the same ConvMLP arch and neck as the '
            'config. A backbone-only file (e.g. ImageNet weights) belongs in '
            "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...), "
            'not in load_from.')
    skipped = report.select(is_head_part)
    current = _unwrap_model(model).state_dict()
    for issue in skipped.mismatched + skipped.unexpected:
        del state_dict[issue.file_key]
    for issue in skipped.mismatched + skipped.missing:
        state_dict[issue.model_key] = current[issue.model_key]
    return skipped


def describe_skipped(skipped: StateDictReport,
                     source: Optional[str] = None,
                     limit: int = 6) -> str:
    """The one-line summary of what :func:`check_checkpoint` skipped when
    fine-tuning.

    Args:
        skipped (StateDictReport): Its return value.
        source (str, optional): The file, for the message.
        limit (int): Keys named per kind. Defaults to 6.

    Returns:
        str: One line (empty if nothing was skipped).
    """
    if skipped.ok:
        return ''
    kept = [
        f'{i.name} (file {i.file_shape}, model {i.model_shape})'
        for i in skipped.mismatched
    ]
    kept += [f'{i.name} (not in the file)' for i in skipped.missing]
    ignored = [i.name for i in skipped.unexpected]

    def names(items):
        more = f' ... and {len(items) - limit} more' if len(items) > limit \
            else ''
        return ', '.join(items[:limit]) + more

    text = f'fine-tuning from {source or "the checkpoint"}: '
    if kept:
        text += (f'{_plural(len(kept), "head tensor", "head tensors")} keep '
                 f'their initial values: {names(kept)}')
    if ignored:
        text += ('; ' if kept else '') + (
            f'{_plural(len(ignored), "file tensor", "file tensors")} of '
            f'layers the model lacks ignored: {names(ignored)}')
    return text


def load_convmlp_checkpoint(
        model: nn.Module,
        filename: str,
        prefix: Optional[str] = None,
        map_location: str = 'cpu',
        sha256: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Fill every parameter and buffer of a ConvMLP from a checkpoint, or
    raise.

    Args:
        model (ConvMLP): The backbone to fill.
        filename (str): Local path or URL (anything MMEngine's
            ``CheckpointLoader`` reads).
        prefix (str, optional): See :func:`convert_convmlp_checkpoint`.
        map_location (str): Where to map tensors. Defaults to ``'cpu'``.
        sha256 (str, optional): The file's SHA-256 (as ``sha256sum`` prints
            it); a file that differs is refused. Defaults to None.

    Returns:
        dict[str, Tensor]: The converted state dict that was loaded.

    Raises:
        RuntimeError: The file cannot be read, or it does not fit ``model``:
            backbone weights missing, shapes that differ, or keys that belong
            to no ConvMLP. The message names the keys. Nothing is loaded in
            that case.
        mmconvmlp.utils.CheckpointError: The file was refused: it holds code
            or classes that weights-only loading does not allow, or it does
            not match ``sha256`` (or the hash in its URL's file name).
    """
    from mmengine.logging import MMLogger
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmconvmlp.utils.safe_load import CheckpointError, resolve_checkpoint
    try:
        checkpoint = CheckpointLoader.load_checkpoint(
            resolve_checkpoint(filename, sha256) if sha256 else filename,
            map_location=map_location,
            logger='current')
    except CheckpointError:
        raise  # already names the file and the reason
    except Exception as e:  # noqa: BLE001  (re-raised with the file named)
        raise RuntimeError(f'ConvMLP: cannot read checkpoint {filename!r}: '
                           f'{type(e).__name__}: {e}') from e
    try:
        state_dict = _backbone_items(checkpoint, prefix)
    except TypeError as e:
        raise RuntimeError(f'ConvMLP: checkpoint {filename!r}: {e}') from e

    report = check_state_dict(model, state_dict)
    if not report.ok:
        arch = getattr(model, 'arch_settings', None)
        raise RuntimeError('\n'.join([
            f'ConvMLP: checkpoint {filename!r} does not fit this backbone '
            f'(arch {arch}); nothing was loaded.'
        ] + report.describe(limit=8, by_part=False) + [
            '  Check that the file is a ConvMLP checkpoint of the same '
            "arch, and set init_cfg['prefix'] if its backbone keys carry a "
            "prefix other than 'backbone.'."
        ]))
    # ConvMLP._load_from_state_dict converts the names; the check above was
    # strict already.
    model.load_state_dict(state_dict, strict=False)
    MMLogger.get_current_instance().info(
        f'ConvMLP: loaded {len(state_dict)} tensors from {filename}')
    return convert_convmlp_checkpoint(state_dict, prefix='')
