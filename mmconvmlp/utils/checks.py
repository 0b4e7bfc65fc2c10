# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Checks run on a config before the runner starts, each failing with one
message.

A missing dataset, or a neck built for another backbone, otherwise surfaces as
a deep traceback from inside a data loader worker or the first forward pass,
long after the logs scrolled by. These checks name the problem and the fix
instead.
"""
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config

from .swap import head_in_channels


class ToolError(RuntimeError):
    """A problem in the config or the command line that the user can fix.

    The tools print its message alone (no traceback) and exit with status 1.
    """


# ----------------------------------------------------------------- datasets
def iter_datasets(dataset: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """Leaf dataset configs with their config key, through dataset wrappers
    (``RepeatDataset``/``ClassBalancedDataset``: ``dataset``;
    ``ConcatDataset``: ``datasets``)."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('dataset'), dict):
        yield from iter_datasets(dataset['dataset'], f'{key}.dataset')
    elif isinstance(dataset.get('datasets'), (list, tuple)):
        for i, sub in enumerate(dataset['datasets']):
            yield from iter_datasets(sub, f'{key}.datasets.{i}')
    else:
        yield key, dataset


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL (``http://``, ``s3://``, ...) rather than a
    local path."""
    return '://' in str(path)


def check_file(path: str, what: str) -> None:
    """Raise a :class:`ToolError` when the local file ``path`` does not exist.

    URLs are not checked here: their loader reports what it could not fetch.

    Args:
        path (str): Local path or URL.
        what (str): What the file is, for the message (e.g. ``'checkpoint'``).

    Raises:
        ToolError: ``path`` is local and no file is there.
    """
    if not is_remote(path) and not osp.isfile(path):
        raise ToolError(f'{what} not found: {path}')


def _dataset_paths(dataset: dict) -> List[str]:
    """The files and folders a dataset config reads, joined as MMEngine's
    ``BaseDataset`` joins them (``data_root`` + ``ann_file`` /
    ``data_prefix``)."""
    root = dataset.get('data_root') or ''
    paths = []
    ann_file = dataset.get('ann_file') or ''
    if ann_file:
        paths.append(
            ann_file if osp.isabs(ann_file) else osp.join(root, ann_file))
    prefixes = dataset.get('data_prefix') or {}
    for prefix in (prefixes.values()
                   if isinstance(prefixes, dict) else [prefixes]):
        if isinstance(prefix, str):
            paths.append(
                prefix if osp.isabs(prefix) or not root else osp.
                join(root, prefix))
    if not paths and root:
        paths.append(root)
    return paths


def _loader_keys(cfg: Config, mode: str) -> Tuple[List[str], List[str]]:
    """Data loaders and evaluators that ``mode`` ('train' or 'test') will
    use."""
    if mode == 'train':
        loaders, evaluators = ['train_dataloader'], []
        # The runner builds the validation loop only when all three are set.
        if cfg.get('val_cfg') and cfg.get('val_dataloader') and cfg.get(
                'val_evaluator'):
            loaders.append('val_dataloader')
            evaluators.append('val_evaluator')
        return loaders, evaluators
    return ['test_dataloader'], ['test_evaluator']


def evaluator_metrics(evaluator) -> Iterator[Tuple[str, dict]]:
    """``(key suffix, metric dict)`` of each metric of an evaluator config
    that reads an ``ann_file``."""
    metrics = evaluator if isinstance(evaluator,
                                      (list, tuple)) else [evaluator]
    for i, metric in enumerate(metrics):
        if isinstance(metric, dict) and metric.get('ann_file'):
            yield ('' if len(metrics) == 1 else f'.{i}'), metric


def local_datasets(cfg: Config,
                   loaders: Sequence[str]) -> Iterator[Tuple[str, str, dict]]:
    """``(loader, key, dataset config)`` of every leaf dataset of ``loaders``
    (e.g. ``'train_dataloader'``) that is read from local files (not through
    ``backend_args`` or a URL ``data_root``)."""
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        for key, dataset in iter_datasets(
                loader_cfg.get('dataset'), f'{loader}.dataset'):
            if not (dataset.get('backend_args')
                    or is_remote(dataset.get('data_root') or '')):
                yield loader, key, dataset


def check_datasets(cfg: Config,
                   mode: str,
                   config_path: Optional[str] = None) -> None:
    """Raise a :class:`ToolError` naming every dataset path that ``mode`` needs
    and that does not exist, with the options that point the config elsewhere.

    Remote paths (``s3://`` ...) and datasets read through ``backend_args`` are
    not checked.

    Args:
        cfg (Config): The config, after ``--cfg-options``.
        mode (str): ``'train'`` (train and, if configured, val loaders) or
            ``'test'`` (test loader).
        config_path (str, optional): The config file, for the message.

    Raises:
        ToolError: Some expected path does not exist.
    """
    loaders, evaluators = _loader_keys(cfg, mode)
    missing: List[Tuple[str, str]] = []
    roots: Dict[str, str] = {}
    for _, key, dataset in local_datasets(cfg, loaders):
        roots[key] = dataset.get('data_root') or ''
        for path in _dataset_paths(dataset):
            if not is_remote(path) and not osp.exists(path):
                missing.append((key, path))
    for evaluator in evaluators:
        for suffix, metric in evaluator_metrics(cfg.get(evaluator)):
            path = metric['ann_file']
            if not metric.get('backend_args') and not is_remote(
                    path) and not osp.exists(path):
                missing.append((f'{evaluator}{suffix}.ann_file', path))
    if not missing:
        return

    where = f' for {config_path}' if config_path else ''
    lines = [
        f'dataset not found{where}. These paths do not exist '
        f'(relative paths are taken from {os.getcwd()}):'
    ]
    width = max(len(k) for k, _ in missing)
    lines += [f'  {key:<{width}}  {path}' for key, path in missing]
    root_list = sorted(set(r for r in roots.values() if r))
    if root_list:
        lines.append('The config expects the dataset under ' +
                     ' and '.join(repr(r) for r in root_list) + '.')
    lines.append(
        'Put (or symlink) the dataset there, or point the config at it:')
    lines.append('  --data-root /path/to/dataset')
    per_key = [f'{key}.data_root=/path/to/dataset' for key in roots]
    for key, path in missing:
        if '_evaluator' in key:
            # An evaluator path is fixed: rebase it on the new root.
            root = next((r for r in sorted(root_list, key=len, reverse=True)
                         if path.startswith(r)), None)
            rest = path[len(root):].lstrip('/') if root else osp.basename(path)
            per_key.append(f'{key}=/path/to/dataset/{rest}')
    lines.append('or, key by key:')
    lines.append('  --cfg-options ' + ' '.join(dict.fromkeys(per_key)))
    raise ToolError('\n'.join(lines))


# ---------------------------------------------------------------- channels
def _backbone_out_channels(cfg: Config) -> Tuple[Optional[List[int]], str]:
    """Build the backbone (weights are not loaded) and read its output
    channels: the ``out_channels`` attribute (ConvMLP has it), else a forward
    pass of a 64x64 image. Returns ``(None, type)`` when neither works."""
    import torch
    from mmengine.registry import MODELS, DefaultScope

    backbone_cfg = cfg.model['backbone']
    name = backbone_cfg.get('type', '?')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        try:
            backbone = MODELS.build(backbone_cfg)
        except Exception:  # noqa: BLE001
            # The runner reports build errors itself.
            return None, name
    channels = getattr(backbone, 'out_channels', None)
    if isinstance(channels, int):
        channels = [channels]
    if channels is None:
        try:
            backbone.eval()
            with torch.no_grad():
                outs = backbone(torch.zeros(1, 3, 64, 64))
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            channels = [int(o.shape[1]) for o in outs]
        except Exception:  # noqa: BLE001
            # Not every backbone takes any input size.
            return None, name
    return list(channels), name


def check_neck_channels(cfg: Config) -> None:
    """Raise a :class:`ToolError` when the neck's ``in_channels`` (or, for a
    segmentor without a neck, a decode/auxiliary head's) disagree with what the
    backbone returns; the message names both lists and the fix.

    Args:
        cfg (Config): The config, after ``--cfg-options``.

    Raises:
        ToolError: The channel lists differ.
    """
    model = cfg.get('model')
    if not isinstance(model, dict) or not isinstance(
            model.get('backbone'), dict):
        return
    neck = model.get('neck')
    neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    # (config key, configured in_channels, expected from the backbone's
    # channels)
    targets = []
    if isinstance(neck, dict):
        if isinstance(neck.get('in_channels'), (list, tuple)):
            targets.append(('model.neck.in_channels',
                            list(neck['in_channels']), lambda ch: list(ch)))
    elif not neck:
        for key in ('decode_head', 'auxiliary_head'):
            heads = model.get(key)
            many = isinstance(heads, (list, tuple))
            for i, head in enumerate(heads if many else [heads]):
                if isinstance(head, dict) and 'in_channels' in head:
                    name = f'model.{key}{f".{i}" if many else ""}.in_channels'
                    configured = head['in_channels']
                    if isinstance(configured, (list, tuple)):
                        configured = list(configured)
                    targets.append(
                        (name, configured,
                         lambda ch, h=head: head_in_channels(h, ch)))
    if not targets:
        return

    channels, backbone_type = _backbone_out_channels(cfg)
    if channels is None:
        return
    arch = cfg.model['backbone'].get('arch')
    desc = backbone_type + (f' (arch={arch!r})' if arch is not None else '')
    rows, fixes = [], []
    for key, configured, expected_fn in targets:
        try:
            expected = expected_fn(channels)
        except IndexError:
            rows.append(
                (key,
                 f'{configured}: in_index reads maps the backbone does not '
                 f'return (it returns {len(channels)})'))
            continue
        if configured != expected:
            rows.append((key, f'{configured}  (should be {expected})'))
            fixes.append(f'{key}={str(expected).replace(" ", "")}')
    if not rows:
        return
    label = f'backbone {desc} out_channels'
    width = max(len(label), *(len(k) for k, _ in rows))
    lines = [
        'the neck/head input channels do not match the backbone outputs:',
        f'  {label:<{width}}  {channels}'
    ]
    lines += [f'  {key:<{width}}  {text}' for key, text in rows]
    lines.append("Set them to the backbone's channels in the config, or on "
                 'the command line:')
    lines.append('  --cfg-options ' + ' '.join(fixes) if fixes else
                 '  (fix in_index/in_channels of the heads listed above)')
    raise ToolError('\n'.join(lines))
