#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Predict images, folders and videos with a detector or segmentor checkpoint.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...]
        [--out-dir outputs] [--device cpu|cuda] [--score-thr 0.3]
        [--batch-size 1] [--cfg-options KEY=VALUE ...]

The config's ``default_scope`` decides between MMDetection's
``DetInferencer`` and MMSegmentation's ``MMSegInferencer``. Writes
``OUT/vis/`` (pictures and videos with the predictions drawn) and
``OUT/preds/`` (JSON per image or frame for detectors, PNG label maps for
segmentors). A checkpoint that does not fill the model is refused. See
:mod:`mmconvmlp.utils.inference` and docs/inference.md.
"""
import argparse
import os.path as osp
import sys
import warnings
from typing import List, Optional

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmconvmlp.utils import (ToolError, add_cfg_options, check_file,
                             load_config, register_safe_globals, run_tool)
from mmconvmlp.utils.inference import (build_inferencer, check_checkpoint_fits,
                                       collect_inputs, inference_summary,
                                       names_classes, run_inference,
                                       use_config_classes)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw and save the predictions of a detector or '
        'segmentor checkpoint on images, folders of images and videos.')
    parser.add_argument(
        'config', help='config file the checkpoint was '
        'trained with')
    parser.add_argument('checkpoint', help='checkpoint file (path or URL)')
    parser.add_argument(
        'inputs',
        nargs='+',
        metavar='INPUT',
        help='image files, folders (their images and videos) '
        'and video files')
    parser.add_argument(
        '--out-dir',
        default='outputs',
        help='where vis/ and preds/ are written '
        '(default: outputs)')
    parser.add_argument(
        '--device',
        help='cpu, cuda or cuda:N (default: '
        'cuda when there is a GPU, else cpu)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='detections below this score are not drawn; '
        'the JSON files keep all (default: 0.3)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images or video frames per forward pass')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bars')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Predict every input and write the results.

    Returns:
        dict: What :func:`mmconvmlp.utils.inference.run_inference` returns.

    Raises:
        ToolError: A missing file, an input that is neither an image nor a
            video, an unknown device, or a checkpoint that does not fit.
    """
    import torch
    args = parse_args(argv)
    register_safe_globals()
    cfg = load_config(args.config, args.cfg_options)
    check_file(args.checkpoint, 'checkpoint')
    sources = collect_inputs(args.inputs)
    if args.batch_size < 1:
        raise ToolError(f'--batch-size must be at least 1, got '
                        f'{args.batch_size}')
    if args.device and args.device.startswith('cuda') and \
            not torch.cuda.is_available():
        raise ToolError(f'--device {args.device}: no GPU is available here')
    inferencer = build_inferencer(cfg, args.checkpoint, args.device)
    meta = check_checkpoint_fits(inferencer.model, args.checkpoint)
    if not names_classes(meta):
        classes = use_config_classes(inferencer, cfg)['classes']
        print(
            'warning: the checkpoint names no classes; using the '
            f"config's {len(classes)}: {', '.join(classes[:5])}"
            f'{" ..." if len(classes) > 5 else ""}',
            file=sys.stderr)
    summary = run_inference(
        inferencer,
        sources,
        args.out_dir,
        args.batch_size,
        args.score_thr,
        show_progress=not args.no_progress)
    print(inference_summary(summary, args.out_dir))
    return summary


if __name__ == '__main__':
    sys.exit(run_tool(main))
