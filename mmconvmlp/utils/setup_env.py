# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""What ``tools/train.py``, ``test.py`` and ``infer.py`` add to the stock
OpenMMLab tools, before MMEngine's ``Runner`` takes over.

- ``--data-root``: one option moves every loader and COCO evaluator;
- a pre-flight check: missing dataset paths, annotation files that do not
  parse, missing images and neck channels that do not fit the backbone stop
  the tool with one message naming the file and the fix; COCO annotations
  that MMDetection will drop are named (and stop the tool past a limit);
- work directories claimed with :func:`mmconvmlp.utils.output_dir`;
- ``--amp`` on a CPU (:class:`mmconvmlp.engine.CPUAmpOptimWrapper`) and
  ``--launcher pytorch`` on a CPU (gloo);
- weights-only, strictly checked checkpoints and exact resume, as hooks.

Problems the user can fix raise :class:`ToolError`; :func:`run_tool` prints
it (or a refused checkpoint) as one message and returns status 1.
"""
import argparse
import copy
import gc
import logging
import os
import os.path as osp
import re
import sys
from typing import Callable, Iterator, List, Optional, Tuple

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from mmconvmlp.engine.hooks import NonFiniteLossError
from mmconvmlp.models.utils import CheckpointError
from .annotations import (MAX_DROPPED, _watch_annotations, _with_mask,
                          describe_dropped, dropped_problem)
from .outputs import OutputError, output_dir
from .swap import head_in_channels

LOADERS = dict(
    train=('train_dataloader', 'val_dataloader'), test=('test_dataloader', ))


class ToolError(RuntimeError):
    """A problem in the config or command line that the user can fix."""


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--data-root``, ``--cfg-options``, ``--launcher``,
    ``--local-rank``: the options the tools share."""
    parser.add_argument(
        '--work-dir',
        help='logs, checkpoints and metrics (default: '
        './work_dirs/<config name>)')
    parser.add_argument(
        '--data-root',
        help='dataset root for every loader and COCO evaluator, instead of '
        "the config's")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings, key=value pairs merged into the config, '
        'e.g. train_dataloader.batch_size=4 model.backbone.init_cfg=None')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (see tools/dist_*.sh)')
    parser.add_argument(
        '--allow-dropped',
        action='store_true',
        help='go on when MMDetection will drop every annotation of an image '
        f'or more than {MAX_DROPPED:.0%}% of them (the WARNING still names '
        'them)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def iter_datasets(dataset, key: str) -> Iterator[Tuple[str, dict]]:
    """Leaf dataset configs with their config key, through wrappers
    (``dataset`` of RepeatDataset and co., ``datasets`` of ConcatDataset)."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('dataset'), dict):
        yield from iter_datasets(dataset['dataset'], f'{key}.dataset')
    elif isinstance(dataset.get('datasets'), (list, tuple)):
        for i, sub in enumerate(dataset['datasets']):
            yield from iter_datasets(sub, f'{key}.datasets.{i}')
    else:
        yield key, dataset


def _metrics(evaluator) -> list:
    items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    return [m for m in items if isinstance(m, dict) and m.get('ann_file')]


def load_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply ``--cfg-options``, ``--data-root``,
    ``--work-dir`` (else ``./work_dirs/<config name>``), ``--launcher`` and
    ``--local-rank`` (``LOCAL_RANK`` unless set).

    Raises:
        ToolError: The config file does not exist.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if not osp.isfile(args.config):
        raise ToolError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        roots = set()
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            for _, ds in iter_datasets((cfg.get(loader) or {}).get('dataset'),
                                       loader):
                roots.add(ds.get('data_root') or '')
                ds['data_root'] = args.data_root
        # CocoMetric reads its annotation file by a path fixed in the config.
        for key in ('val_evaluator', 'test_evaluator'):
            for metric in _metrics(cfg.get(key)):
                root = next((r for r in sorted(roots, key=len, reverse=True)
                             if r and metric['ann_file'].startswith(r)), None)
                if root:
                    metric['ann_file'] = osp.join(
                        args.data_root, metric['ann_file'][len(root):])
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def build_dataset(cfg: Config, ds: dict):
    """Dataset config ``ds`` built in the config's scope, without pipeline
    and lazily (annotations are parsed at the first ``len`` or item)."""
    from mmengine.registry import DATASETS, DefaultScope
    ds = copy.deepcopy(ds)
    ds.update(lazy_init=True, pipeline=[])
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return DATASETS.build(ds)


def build_model(cfg: Config):
    """The config's model, built in its scope with random weights (no
    ``init_cfg`` or ``pretrained`` download) and SyncBN as BatchNorm: what
    the analysis and deployment tools count, time or export. The config's
    scope becomes the default scope (pipelines built later find their
    transforms)."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.get('custom_imports', {}))
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    if cfg.default_scope == 'mmseg':
        cfg.model.pretrained = None
    return revert_sync_batchnorm(MODELS.build(cfg.model))


def check_data(cfg: Config,
               mode: str,
               allow_dropped: bool = False) -> List[Tuple[str, str, dict]]:
    """The pre-flight check: every dataset ``mode`` reads parses and its
    files exist, before any work starts.

    Each leaf dataset is built and ``full_init()`` (the code base's own
    parsing: pycocotools for COCO, the folder scan for segmentation); a
    failure names the dataset key and the annotation file. COCO annotations
    that MMDetection will drop or ignore (boxes under one pixel or negative,
    boxes outside the image, category ids not in the classes, masks with no
    pixels) are read as the dataset parses them and named in one WARNING
    line per dataset, or in the error when the tool stops for them. Then
    every image (and label map) the dataset lists must be a non-empty file,
    and every evaluator annotation file must exist. Remote data
    (``backend_args``, URLs) is not checked.

    Args:
        cfg (Config): The config, after the command-line options.
        mode (str): ``'train'`` (train and val loaders) or ``'test'``.
        allow_dropped (bool): Go on when an image loses all of its
            annotations or more than :data:`MAX_DROPPED` of a dataset's are
            dropped. Defaults to False.

    Returns:
        list[tuple[str, str, dict]]: ``(config key, annotation file,
        findings)`` of each dataset with dropped annotations (findings as
        :func:`describe_dropped` reads them).

    Raises:
        ToolError: The first problem, naming the config key, the file, and
            ``--data-root`` as the fix for a dataset in another place, or
            ``--allow-dropped`` for dropped annotations.
    """
    reports = []
    for loader in LOADERS[mode]:
        for key, ds in iter_datasets((cfg.get(loader) or {}).get('dataset'),
                                     f'{loader}.dataset'):
            if ds.get('backend_args') or '://' in str(ds.get('data_root')):
                continue
            root = ds.get('data_root') or ''
            ann = osp.join(root, ds['ann_file']) if ds.get('ann_file') else ''
            if ann and not osp.isfile(ann) or not osp.isdir(root or '.'):
                raise ToolError(
                    f'{key}: dataset not found: {ann or root} does not exist'
                    f' (relative to {os.getcwd()}). Put the data there, or '
                    'pass --data-root /path/to/dataset.')
            try:
                dataset = build_dataset(cfg, ds)
                found = _watch_annotations(dataset, _with_mask(ds))
                dataset.full_init()
            except Exception as e:  # noqa: BLE001  (named and re-raised)
                raise ToolError(f'{key}: cannot read the dataset '
                                f'{ann or root}: {type(e).__name__}: {e}')
            if found['dropped']:
                message = (f'{key}: {ann}: MMDetection will not train on '
                           f'{describe_dropped(found)}')
                problem = dropped_problem(found)
                if problem and not allow_dropped:
                    raise ToolError(
                        f'{message}.\nStopped: {problem}. Fix the '
                        'annotations, or pass --allow-dropped to go on.')
                print_log(message, logger='current', level=logging.WARNING)
                reports.append((key, ann, found))
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                for field in ('img_path', 'seg_map_path'):
                    path = info.get(field)
                    if path and not (osp.isfile(path)
                                     and osp.getsize(path) > 0):
                        raise ToolError(
                            f'{key}: {field.split("_")[0]} file missing or '
                            f'empty: {path} (listed by {ann or root})')
    for loader in LOADERS[mode]:
        if cfg.get(loader):
            key = loader.replace('dataloader', 'evaluator')
            for metric in _metrics(cfg.get(key)):
                if not osp.isfile(metric['ann_file']):
                    raise ToolError(f'{key}.ann_file not found: '
                                    f'{metric["ann_file"]}')
    return reports


def check_neck_channels(cfg: Config) -> None:
    """Refuse a config whose neck ``in_channels`` (or, without a neck, head
    ``in_channels``) differ from what the backbone returns.

    Raises:
        ToolError: Names both channel lists and the ``--cfg-options`` fix.
    """
    from mmengine.registry import MODELS, DefaultScope
    model = cfg.get('model') or {}
    if not isinstance(model.get('backbone'), dict):
        return
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        try:
            channels = MODELS.build(model['backbone']).out_channels
        except Exception:  # noqa: BLE001  (the runner reports build errors)
            return
    if isinstance(channels, int) or not channels:
        return
    targets = []
    neck = model.get('neck')
    if isinstance(neck, dict) and isinstance(neck.get('in_channels'), list):
        targets.append(
            ('model.neck.in_channels', neck['in_channels'], list(channels)))
    elif not neck:
        for key in ('decode_head', 'auxiliary_head'):
            head = model.get(key)
            if isinstance(head, dict) and 'in_channels' in head:
                try:
                    want = head_in_channels(head, channels)
                except IndexError:
                    continue
                targets.append(
                    (f'model.{key}.in_channels', head['in_channels'], want))
    targets = [(k, list(have) if isinstance(have,
                                            (list, tuple)) else have, want)
               for k, have, want in targets]
    wrong = [(k, have, want) for k, have, want in targets if have != want]
    if wrong:
        raise ToolError('\n'.join(
            [f'the backbone returns maps of {list(channels)} channels, but:'] +
            [f'  {k} is {have} (should be {want})'
             for k, have, want in wrong] + [
                 'Fix the config or pass --cfg-options ' +
                 ' '.join(f'{k}={str(w).replace(" ", "")}'
                          for k, _, w in wrong)
             ]))


def add_hook(cfg: Config, hook: dict) -> str:
    """Append ``hook`` to ``cfg.custom_hooks``, replacing one of its type.

    Returns:
        str: What changed, for the log (``custom_hooks: added ...``).
    """
    name = hook['type'].split('.')[-1]
    hooks = list(cfg.get('custom_hooks') or [])
    same = [
        h for h in hooks if isinstance(h, dict)
        and isinstance(h.get('type'), str) and h['type'].split('.')[-1] == name
    ]
    cfg.custom_hooks = [h for h in hooks if h not in same] + [hook]
    if not same:
        return f'custom_hooks: added {hook}'
    if [dict(h) for h in same] == [hook]:
        return f'custom_hooks: {hook} (the config has it already)'
    return (f'custom_hooks: {", ".join(str(dict(h)) for h in same)} '
            f'replaced by {hook}')


def claim_work_dir(cfg: Config, writer: str):
    """:func:`mmconvmlp.utils.output_dir` for the run's work directory.

    Besides the files the project's tools recorded there, the files that
    MMEngine's runner writes under their own names are accepted (a work
    directory of an earlier version or of the stock tools):
    ``YYYYMMDD_HHMMSS/...``, ``last_checkpoint``, ``epoch_N.pth``,
    ``iter_N.pth``, ``best_*.pth`` and the config's dump (``NAME.py`` or
    ``YYYYMMDD_HHMMSS.py``). Only rank 0 records.

    Returns:
        contextlib.AbstractContextManager: The claim; use it with ``with``.
    """
    dump = re.escape(osp.basename(cfg.filename or ''))
    names = re.compile(r'\d{8}_\d{6}(/.+|\.py)|last_checkpoint|best_[^/]+\.pth'
                       rf'|(epoch|iter)_\d+\.pth|{dump}')
    return output_dir(
        cfg.work_dir,
        writer,
        fresh=False,
        accept=names.fullmatch,
        record=os.environ.get('RANK', '0') == '0')


def setup_launcher(cfg: Config) -> None:
    """``--launcher pytorch`` on a machine without GPUs: a gloo process group
    from torchrun's environment (MMEngine's launcher would call
    ``torch.cuda.set_device``), CPU DDP and BN instead of SyncBN.

    Raises:
        ToolError: ``slurm``/``mpi`` without GPUs, or no torchrun
            environment.
    """
    import torch
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ToolError(
            f'--launcher {cfg.launcher} needs GPUs; on a CPU-only machine '
            'use tools/dist_train.sh / dist_test.sh (torchrun, --launcher '
            'pytorch).')
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise ToolError('--launcher pytorch expects the environment torchrun'
                        ' sets; start the tool with tools/dist_train.sh.')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault(
        'model_wrapper_cfg',
        dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False)))
    cfg.model = _sync_bn_to_bn(cfg.model.to_dict())  # no CPU SyncBN


def _sync_bn_to_bn(node):
    if isinstance(node, dict):
        return {
            k: 'BN' if k == 'type' and v == 'SyncBN' else _sync_bn_to_bn(v)
            for k, v in node.items()
        }
    if isinstance(node, (list, tuple)):
        return type(node)(_sync_bn_to_bn(v) for v in node)
    return node


def setup_amp(cfg: Config) -> None:
    """``--amp``: MMEngine's ``AmpOptimWrapper`` (fp16, dynamic loss scale)
    on a GPU, :class:`mmconvmlp.engine.CPUAmpOptimWrapper` (bfloat16 where
    native) on a CPU, which autocasts only backbone and neck of two-stage
    detectors (MMCV's CPU ``nms``/``RoIAlign`` take float32 only).

    Raises:
        ToolError: The config's optimizer wrapper is not ``OptimWrapper``.
    """
    import torch
    wrapper = cfg.get('optim_wrapper')
    kind = (wrapper or {}).get('type', 'OptimWrapper')
    if not isinstance(wrapper, dict) or kind.split('.')[-1] not in (
            'OptimWrapper', 'AmpOptimWrapper', 'CPUAmpOptimWrapper'):
        raise ToolError(f'--amp works with optim_wrapper type OptimWrapper; '
                        f'this config uses {kind}')
    if torch.cuda.is_available():
        wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
        return
    wrapper.update(type='mmconvmlp.CPUAmpOptimWrapper')
    if 'roi_head' in cfg.model:
        wrapper.setdefault('autocast_modules', ['backbone', 'neck'])


def build_runner(cfg: Config):
    """The runner of ``cfg.runner_type`` if set, else MMEngine's."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def run_tool(main: Callable, argv: Optional[List[str]] = None) -> int:
    """Run ``main(argv)``; a :class:`ToolError`, a refused output folder
    (:class:`~mmconvmlp.utils.OutputError`), a refused checkpoint
    (:class:`~mmconvmlp.models.utils.CheckpointError`) or a non-finite loss
    (:class:`~mmconvmlp.engine.hooks.NonFiniteLossError`), also one raised
    inside the runner, prints one message.

    Returns:
        int: 0, or 1 after such an error.
    """
    import torch.distributed as dist
    try:
        main(argv)
    except (ToolError, OutputError, CheckpointError, NonFiniteLossError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if dist.is_available() and dist.is_initialized():
        # A gloo thread still releasing a finished collective's tensors at
        # interpreter exit aborts the process; collect the DDP wrapper and
        # join the group's threads here.
        gc.collect()
        dist.destroy_process_group()
    return 0
