# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The data checks of the tools, run on a config before the runner starts.

:func:`check_data` (``tools/train.py``, ``tools/test.py``) scans what is
cheap on every dataset the run will read, stops with one message when the
data cannot be used, writes a copy of a COCO annotation file with its boxes
fixed for training, and swaps :class:`SafeLoadImageFromFile` into the
pipelines. :func:`scan_config` (``tools/misc/check_dataset.py``) scans, with
``decode=True`` decoding every file. A config tunes them with a
``data_checks`` dict (see :data:`DATA_CHECKS`).
"""
import copy
import json
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from mmconvmlp.utils.checks import (ToolError, _loader_keys, evaluator_metrics,
                                    is_remote, local_datasets)
from .checks import (DatasetReport, scan_coco, scan_json, scan_segmentation,
                     summary_lines)

#: The checks' settings; a config's ``data_checks`` dict overrides them:
#: ``scan`` (bool) the pre-flight scan; ``safe_loading`` (bool) swap
#: :class:`SafeLoadImageFromFile` into the pipelines; ``max_bad_fraction``
#: (float) share of the training images that may fail to load before the
#: run stops; ``num_label_maps`` (int or None) label maps decoded by the
#: pre-flight scan, None for all.
DATA_CHECKS = dict(
    scan=True, safe_loading=True, max_bad_fraction=0.01, num_label_maps=50)
#: The loaders of each ``--split`` of ``tools/misc/check_dataset.py``.
SPLIT_LOADERS = {
    'train': ('train_dataloader', ),
    'val': ('val_dataloader', ),
    'test': ('test_dataloader', ),
    'all': ('train_dataloader', 'val_dataloader', 'test_dataloader')
}
#: Pipeline steps that :func:`use_safe_loading` replaces.
LOADER_TYPES = ('LoadImageFromFile', 'mmcv.LoadImageFromFile',
                'mmdet.LoadImageFromFile', 'mmseg.LoadImageFromFile',
                'mmconvmlp.SafeLoadImageFromFile')
SAFE_LOADER = 'mmconvmlp.SafeLoadImageFromFile'


def data_check_settings(cfg: Config) -> dict:
    """:data:`DATA_CHECKS` updated with the config's ``data_checks``.

    Raises:
        ToolError: ``data_checks`` is not a dict, has an unknown key, or
            ``max_bad_fraction`` is not within [0, 1].
    """
    given = cfg.get('data_checks') or {}
    if not isinstance(given, dict):
        raise ToolError(f'data_checks must be a dict, got {given!r}')
    unknown = sorted(set(given) - set(DATA_CHECKS))
    if unknown:
        raise ToolError(f'unknown data_checks keys {unknown}; known: '
                        f'{sorted(DATA_CHECKS)}')
    settings = dict(DATA_CHECKS, **given)
    fraction = settings['max_bad_fraction']
    if not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ToolError('data_checks.max_bad_fraction must be within [0, 1],'
                        f' got {fraction!r}')
    return settings


def _build_lazy(dataset_cfg: dict, scope: Optional[str]):
    """The dataset object with its paths joined, its files not read yet
    and no pipeline (the config is not changed)."""
    from mmengine.registry import DATASETS, DefaultScope
    dataset_cfg = copy.deepcopy(dict(dataset_cfg))
    dataset_cfg.update(pipeline=[], lazy_init=True)
    with DefaultScope.overwrite_default_scope(scope):
        return DATASETS.build(dataset_cfg)


def scan_dataset(dataset_cfg: dict,
                 scope: Optional[str],
                 *,
                 name: str,
                 settings: dict = DATA_CHECKS,
                 decode: bool = False,
                 progress: bool = False) -> Optional[DatasetReport]:
    """Scan the files of one dataset config.

    Datasets with a ``seg_map_path`` prefix (MMSegmentation) are scanned
    through their file list (:func:`scan_segmentation`), datasets with a
    ``.json`` ``ann_file`` as COCO (:func:`scan_coco`); others are not.

    Args:
        dataset_cfg (dict): A leaf dataset config.
        scope (str, optional): The registry scope (``'mmdet'``...).
        name (str): The dataset's config key, for the report.
        settings (dict): As :func:`data_check_settings` returns.
        decode (bool): Decode every image and label map. Defaults to False.
        progress (bool): Show progress bars. Defaults to False.

    Returns:
        DatasetReport | None: None for a dataset of another kind.
    """
    dataset = _build_lazy(dataset_cfg, scope)
    prefix = dataset.data_prefix
    share = None if dataset.test_mode else settings['max_bad_fraction']
    if 'seg_map_path' in prefix:
        samples = sorted((d['img_path'], d.get('seg_map_path'))
                         for d in dataset.load_data_list())
        label_map = getattr(dataset, 'label_map', None)
        num_classes = (
            len(label_map) if label_map else len(dataset.metainfo['classes']))
        return scan_segmentation(
            samples,
            num_classes,
            getattr(dataset, 'ignore_index', 255),
            bool(getattr(dataset, 'reduce_zero_label', False)),
            num_label_maps=settings['num_label_maps'],
            decode=decode,
            fatal_share=share,
            progress=progress,
            source=prefix.get('img_path', ''),
            name=name)
    ann_file = getattr(dataset, 'ann_file', '')
    if isinstance(ann_file, str) and ann_file.endswith('.json'):
        return scan_coco(
            ann_file,
            prefix.get('img', ''),
            decode=decode,
            fatal_share=share,
            progress=progress,
            name=name)
    return None


def _files_read(dataset: dict) -> str:
    """What a dataset config reads, as text: the same for a validation and
    a test loader that read the same files."""
    keys = ('type', 'data_root', 'ann_file', 'data_prefix', 'test_mode',
            'metainfo', 'reduce_zero_label')
    return json.dumps([dataset.get(k) for k in keys], default=str)


def scan_config(
        cfg: Config,
        loaders: Sequence[str],
        evaluators: Sequence[str] = (),
        *,
        decode: bool = False,
        progress: bool = False
) -> List[Tuple[str, dict, Optional[DatasetReport]]]:
    """Scan every dataset of ``loaders`` (a dataset that two loaders share,
    e.g. validation and test, once), and check that the annotation files
    of ``evaluators`` that no dataset reads parse.

    Args:
        cfg (Config): The config, after ``--cfg-options``.
        loaders (Sequence[str]): e.g. ``('train_dataloader', )``.
        evaluators (Sequence[str]): e.g. ``('val_evaluator', )``. Defaults
            to none.
        decode (bool): Decode every image and label map. Defaults to False.
        progress (bool): Show progress bars. Defaults to False.

    Returns:
        list[tuple]: ``(config key, dataset or metric config, report)``;
        the report is None where the dataset's kind is not scanned, or the
        dataset could not be built (a WARNING says why).
    """
    settings = data_check_settings(cfg)
    scope = cfg.get('default_scope')
    results, seen = [], {}
    for loader, key, dataset in local_datasets(cfg, loaders):
        ident = _files_read(dataset)
        if ident not in seen:
            if progress:
                print(f'Checking {key}', flush=True)
            try:
                seen[ident] = scan_dataset(
                    dataset,
                    scope,
                    name=key,
                    settings=settings,
                    decode=decode,
                    progress=progress)
            except Exception as e:  # noqa: BLE001  (the runner reports it)
                print_log(
                    f'data check: {key} not checked, it cannot be '
                    f'built: {type(e).__name__}: {e}',
                    logger='current',
                    level=logging.WARNING)
                seen[ident] = None
        results.append((key, dataset, seen[ident]))
    read = {osp.abspath(r.source) for r in unique_reports(results)}
    for evaluator in evaluators:
        for suffix, metric in evaluator_metrics(cfg.get(evaluator)):
            path = metric['ann_file']
            if not (metric.get('backend_args') or is_remote(path)
                    or osp.abspath(path) in read):
                read.add(osp.abspath(path))
                key = f'{evaluator}{suffix}.ann_file'
                results.append((key, metric, scan_json(path, key)))
    return results


def unique_reports(results: Sequence[tuple]) -> List[DatasetReport]:
    """The reports of :func:`scan_config`'s results, each once (loaders
    that share a dataset share its report), in order."""
    return list({id(r): r for _, _, r in results if r is not None}.values())


def _write_cleaned(report: DatasetReport, work_dir: str, key: str) -> str:
    """Write ``report.cleaned`` under ``work_dir``; returns its path."""
    path = osp.abspath(
        osp.join(work_dir, 'data_checks', key, osp.basename(report.source)))
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'  # each process of a run writes it
    with open(tmp, 'w') as f:
        json.dump(report.cleaned, f)
    os.replace(tmp, path)
    return path


def use_safe_loading(cfg: Config,
                     loaders: Sequence[str],
                     max_bad_fraction: float = 0.01,
                     num_samples: Optional[Dict[str, int]] = None,
                     record_dir: Optional[str] = None) -> int:
    """Replace ``LoadImageFromFile`` in the pipelines of ``loaders`` with
    :class:`SafeLoadImageFromFile`, keeping its arguments.

    Training datasets skip images that fail (up to ``max_bad_fraction``);
    validation and test datasets, which cannot skip, raise naming the file.
    Arguments a ``SafeLoadImageFromFile`` step of the config already has
    are kept, but for ``skip_bad``.

    Args:
        cfg (Config): The config, changed in place.
        loaders (Sequence[str]): e.g. ``('train_dataloader', )``.
        max_bad_fraction (float): See :class:`SafeLoadImageFromFile`.
            Defaults to 0.01.
        num_samples (dict[str, int], optional): Images of each dataset by
            config key, where known.
        record_dir (str, optional): Folder of the training datasets'
            record files (``<record_dir>/<key>/skipped_images.txt``,
            emptied here). Defaults to None (no record files).

    Returns:
        int: How many pipeline steps were replaced.
    """
    num_samples = num_samples or {}
    replaced = 0
    for loader, key, dataset in local_datasets(cfg, loaders):
        pipeline = dataset.get('pipeline') or []
        train = loader == 'train_dataloader' and not dataset.get(
            'test_mode', False)
        record_file = None
        if train and record_dir:
            record_file = osp.abspath(
                osp.join(record_dir, key, 'skipped_images.txt'))
            if osp.exists(record_file):
                os.remove(record_file)  # count this run's failures only
        for i, step in enumerate(pipeline):
            if isinstance(step, dict) and step.get('type') in LOADER_TYPES:
                defaults = dict(
                    max_bad_fraction=max_bad_fraction,
                    num_samples=num_samples.get(key),
                    record_file=record_file)
                pipeline[i] = dict(defaults, **step)
                pipeline[i].update(type=SAFE_LOADER, skip_bad=train)
                replaced += 1
    return replaced


def check_data(cfg: Config,
               mode: str,
               config_path: Optional[str] = None) -> List[DatasetReport]:
    """The tools' data checks: scan, stop or fix, and load safely.

    With the config's ``data_checks`` (see :data:`DATA_CHECKS`):

    - scans the datasets ``mode`` reads (:func:`scan_config`); problems
      that make them unusable end the tool with one message;
    - for a training dataset whose boxes were clipped or dropped, writes
      the fixed annotation file to ``<work_dir>/data_checks/<key>/`` and
      points the dataset at it; the changes, and other problems that are
      fixed or skipped, are logged as WARNING lines;
    - swaps :class:`SafeLoadImageFromFile` into the pipelines
      (:func:`use_safe_loading`).

    Args:
        cfg (Config): The config, after ``--cfg-options`` and with its
            ``work_dir``; changed in place.
        mode (str): ``'train'`` (train and, if configured, val loaders) or
            ``'test'`` (test loader).
        config_path (str, optional): The config file, for the message.

    Returns:
        list[DatasetReport]: The reports of the datasets scanned.

    Raises:
        ToolError: The data cannot be used, or ``data_checks`` is wrong.
    """
    settings = data_check_settings(cfg)
    loaders, evaluators = _loader_keys(cfg, mode)
    reports, num_samples = [], {}
    if settings['scan']:
        start = time.time()
        results = scan_config(cfg, loaders, evaluators)
        reports = unique_reports(results)
        if any(r.fatal for r in reports):
            raise ToolError(_fatal_message(reports, mode, config_path))
        num_samples = _fix_and_warn(cfg, results)
        names = ', '.join(f'{r.name} ({r.num_samples} images)'
                          for r in reports)
        print_log(
            f'data check: {names or "no dataset"} scanned in '
            f'{time.time() - start:.1f} s',
            logger='current')
    if settings['safe_loading']:
        use_safe_loading(cfg, loaders, settings['max_bad_fraction'],
                         num_samples, osp.join(cfg.work_dir, 'data_checks'))
    return reports


def _fix_and_warn(cfg: Config, results: list) -> Dict[str, int]:
    """Log the problems that are fixed or skipped and point training
    datasets at their fixed annotation files; returns each dataset's size
    by config key."""
    num_samples = {}
    for report in unique_reports(results):
        for problem in report.warnings:
            print_log(
                f'data check: {report.title}: {problem}',
                logger='current',
                level=logging.WARNING)
    for key, dataset, report in results:
        if report is None:
            continue
        num_samples[key] = report.num_samples
        if report.cleaned is not None and key.startswith('train_'):
            # The fixed boxes are what training reads.
            dataset['ann_file'] = _write_cleaned(report, cfg.work_dir, key)
            print_log(
                f'data check: {key} reads {dataset["ann_file"]}, a '
                'copy of its annotation file with the boxes above '
                'fixed',
                logger='current',
                level=logging.WARNING)
    return num_samples


def _fatal_message(reports: Sequence[DatasetReport], mode: str,
                   config_path: Optional[str]) -> str:
    config = f' of {config_path}' if config_path else ''
    when = 'training' if mode == 'train' else 'testing'
    lines = [
        f'the data{config} cannot be used (found before {when} '
        'started):'
    ]
    lines += summary_lines(reports, fatal=True)
    splits = {r.name.split('_', 1)[0] for r in reports if r.fatal}
    split = splits.pop() if len(splits) == 1 else 'all'
    lines.append('Fix the files named above and run again. To decode every '
                 'image and label map: python tools/misc/check_dataset.py '
                 f'{config_path or "CONFIG"} --split {split}')
    return '\n'.join(lines)
