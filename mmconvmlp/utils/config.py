# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Reading a config the way ``tools/train.py`` and ``tools/test.py`` do.

One pair of tools serves MMDetection and MMSegmentation configs: the config's
``default_scope`` (``'mmdet'`` or ``'mmseg'``) selects the registries, and
MMEngine's ``Runner`` does the rest with the code base's own datasets, metrics
and visualizers.
"""
import argparse
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

from .checks import ToolError, evaluator_metrics, iter_datasets

CODEBASES = ('mmdet', 'mmseg')


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options KEY=VALUE ...`` (MMEngine's ``DictAction``) to
    ``parser``: settings merged into the config, as every OpenMMLab tool
    takes them."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs merged into '
        'it, e.g. train_dataloader.batch_size=4 model.backbone.init_cfg=None. '
        'A list value is written key="[a,b]" or key=a,b, nested lists '
        'key="[(a,b),(c,d)]"; the quotes are needed and no white space is '
        'allowed.')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the options ``tools/train.py`` and ``tools/test.py`` share
    (``--work-dir``, ``--data-root``, ``--cfg-options``, ``--launcher``,
    ``--local-rank``) to ``parser``."""
    parser.add_argument(
        '--work-dir',
        help='the directory for logs, checkpoints and '
        'metrics (default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--data-root',
        help='dataset root for every train/val/test loader '
        "and evaluator, instead of the config's (e.g. data/coco/)")
    add_cfg_options(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (see tools/dist_*.sh)')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                data_root: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config and apply the options every tool shares.

    ``cfg_options`` are merged first; then ``data_root`` and ``work_dir``
    (given, else the config's ``work_dir``, else
    ``./work_dirs/<config name>``).

    Args:
        config (str): Path of the config file.
        cfg_options (dict, optional): ``--cfg-options`` key/value pairs.
        work_dir (str, optional): ``--work-dir``.
        data_root (str, optional): ``--data-root`` (see :func:`set_data_root`).
        launcher (str): ``--launcher``. Defaults to ``'none'``.

    Returns:
        Config: The config, ready for :func:`mmconvmlp.utils.build_runner`.

    Raises:
        ToolError: The config file does not exist.
    """
    if not osp.isfile(config):
        raise ToolError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root:
        set_data_root(cfg, data_root)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def codebase_of(cfg: Config) -> Optional[str]:
    """``'mmdet'`` or ``'mmseg'`` from the config's ``default_scope``, else
    None."""
    scope = cfg.get('default_scope')
    return scope if scope in CODEBASES else None


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every data loader (train, val, test) and evaluator of ``cfg`` at
    ``data_root``.

    Sets ``data_root`` of every dataset and rewrites evaluator ``ann_file``
    paths that lie under a dataset's old ``data_root`` (MMDetection's
    ``CocoMetric`` reads the annotations itself, by a path fixed when the
    config was parsed).

    Args:
        cfg (Config): The config, modified in place.
        data_root (str): The new dataset root, e.g. ``/datasets/coco``.
    """
    old_roots = set()
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if isinstance(cfg.get(loader), dict):
            for _, dataset in iter_datasets(cfg[loader].get('dataset'),
                                            loader):
                if dataset.get('data_root'):
                    old_roots.add(dataset['data_root'])
                dataset['data_root'] = data_root
    # Longest first, so that 'data/coco/x/' wins over 'data/coco/'.
    roots = sorted(old_roots, key=len, reverse=True)
    for evaluator in ('val_evaluator', 'test_evaluator'):
        for _, metric in evaluator_metrics(cfg.get(evaluator)):
            ann_file = metric['ann_file']
            for root in roots:
                if ann_file.startswith(root):
                    metric['ann_file'] = osp.join(
                        data_root, ann_file[len(root):].lstrip('/'))
                    break


def build_model(cfg: Config):
    """Build ``cfg.model`` in the config's scope, SyncBN turned into BN (as
    MMEngine's runner does outside distributed runs). No weights are loaded
    or initialised."""
    import copy

    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(copy.deepcopy(cfg.model))
    return revert_sync_batchnorm(model)


def replace_sync_bn(node) -> None:
    """Turn every ``type='SyncBN'`` norm config into ``'BN'``, in place."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            replace_sync_bn(value)


def enable_visualization(cfg: Config,
                         show: bool = False,
                         show_dir: Optional[str] = None,
                         wait_time: float = 2.) -> None:
    """``--show`` / ``--show-dir``: turn on the config's visualization hook.

    Raises:
        ToolError: The config has no visualization hook.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ToolError(
            '--show and --show-dir need a visualization hook in the config: '
            "default_hooks.visualization=dict(type='DetVisualizationHook') "
            "(MMDetection) or dict(type='SegVisualizationHook') "
            '(MMSegmentation)')
    hook['draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        # Absolute, so that both code bases write where the user said
        # (MMDetection would otherwise nest a relative path under
        # work_dir/<timestamp>/).
        show_dir = osp.abspath(show_dir)
        if codebase_of(cfg) == 'mmseg':
            # SegVisualizationHook writes through the visualizer's backends
            # (show_dir/vis_data/vis_image/), by default only every 50th image.
            cfg.visualizer['save_dir'] = show_dir
            hook['interval'] = 1
        else:
            hook['test_out_dir'] = show_dir


def check_out_path(cfg: Config, out: str) -> None:
    """``--out`` of ``tools/test.py``: a ``.pkl`` file unless the config is
    MMSegmentation's (which writes a directory of label maps).

    Raises:
        ToolError: A detection config with an ``--out`` that is not a pickle
            file.
    """
    if codebase_of(cfg) != 'mmseg' and not out.endswith(('.pkl', '.pickle')):
        raise ToolError(
            f'--out must name a .pkl file for this config, got {out}')


def dataset_meta_of(cfg: Config) -> dict:
    """Class names and palette of the config's test dataset, as MMEngine
    writes them into ``meta['dataset_meta']`` (the dataset's ``metainfo``:
    its ``classes`` and ``palette``, the config's ``metainfo`` overriding the
    dataset class's).

    Args:
        cfg (Config): A config with a ``test_dataloader``.

    Returns:
        dict: ``classes`` and, where known, ``palette``; empty if the config
        has no test dataset.
    """
    import copy

    from mmengine.registry import DATASETS, DefaultScope
    dataset = (cfg.get('test_dataloader') or {}).get('dataset')
    if not isinstance(dataset, dict):
        return {}
    dataset = copy.deepcopy(dataset)
    dataset['lazy_init'] = True  # metainfo only: no annotation file is read
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        metainfo = DATASETS.build(dataset).metainfo
    return {k: metainfo[k] for k in ('classes', 'palette') if k in metainfo}
