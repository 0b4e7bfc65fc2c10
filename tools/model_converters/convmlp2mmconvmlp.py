#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Convert a ConvMLP checkpoint to this project's layout.

    python tools/model_converters/convmlp2mmconvmlp.py SRC DST [--config CFG]

SRC is any file ConvMLP reads: the authors' ImageNet classifiers, their
mmdet 2.x / mmseg 0.x COCO and ADE20K models, or this project's checkpoints.
DST gets the backbone keys under this project's names, the rest unchanged,
and MMEngine-style ``meta`` (``dataset_meta`` with the class names and
palette where known, ``mmconvmlp_version``); the optimizer state is dropped.
Converting DST again gives the same file. ``--config`` supplies class names
(its test dataset's) for a file that has none.
"""
import argparse
import os.path as osp
import sys
import warnings
from typing import List, Optional

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmconvmlp.models.utils import convert_checkpoint
from mmconvmlp.utils import (ToolError, check_file, dataset_meta_of,
                             load_config, register_safe_globals, run_tool)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert a ConvMLP checkpoint (the authors' layout or "
        "this project's) to this project's layout with MMEngine meta.")
    parser.add_argument('src', help='checkpoint to convert (path or URL)')
    parser.add_argument('dst', help='file to write')
    parser.add_argument(
        '--config',
        help='config whose test dataset gives the '
        'class names when SRC has none')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Convert ``src`` into ``dst``.

    Returns:
        dict: What was written (``meta`` and ``state_dict``).

    Raises:
        ToolError: ``src`` or the config is missing or unreadable.
    """
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    args = parse_args(argv)
    register_safe_globals()
    check_file(args.src, 'checkpoint')
    dataset_meta = dataset_meta_of(load_config(args.config)) if args.config \
        else None
    try:
        source = CheckpointLoader.load_checkpoint(args.src, map_location='cpu')
        converted = convert_checkpoint(source, dataset_meta)
    except Exception as e:  # noqa: BLE001  (one message, the file named)
        raise ToolError(f'cannot convert {args.src}: {type(e).__name__}: {e}')
    dst_dir = osp.dirname(osp.abspath(args.dst))
    if not osp.isdir(dst_dir):
        raise ToolError(f'output folder not found: {dst_dir}')
    torch.save(converted, args.dst)
    classes = converted['meta'].get('dataset_meta', {}).get('classes')
    print(f'{args.dst}: {len(converted["state_dict"])} tensors, ' +
          (f'{len(classes)} class names'
           if classes is not None else 'no class names'))
    return converted


if __name__ == '__main__':
    sys.exit(run_tool(main))
