#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Export a ConvMLP detector, segmentor or backbone to ONNX, and check it.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT
        [--shape H W] [--out FILE] [--dynamic] [--what {backbone,model}]
        [--verify] [--verify-shape H W] [--image FILE] [--threads N]
        [--tol T] [--cfg-options KEY=VALUE ...]

``--what model`` exports RetinaNet-like detectors and Semantic FPN-like
segmentors up to their raw head outputs; post-processing (NMS, box decoding,
resizing) runs in numpy (:mod:`mmconvmlp.deployment`). ``--verify`` runs the
file on ONNX Runtime and compares it with PyTorch: the raw outputs, and the
final detections or label maps against MMDetection's / MMSegmentation's own
``predict``. See docs/deployment.md.
"""
import argparse
import os.path as osp
import sys
import warnings
from typing import List, Optional

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction

from mmconvmlp.utils import run_tool


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog='tools/deployment/pytorch2onnx.py',
        description='Export a detector or segmentor config (or its backbone) '
        'with a checkpoint to ONNX; --verify compares the export on ONNX '
        'Runtime with PyTorch.')
    p.add_argument('config', help='MMDetection / MMSegmentation config file')
    p.add_argument(
        'checkpoint',
        help='whole-model checkpoint (with --what '
        'backbone also an ImageNet backbone checkpoint)')
    p.add_argument(
        '--shape',
        nargs=2,
        type=int,
        metavar=('H', 'W'),
        help='input size of the export (default: 800 1216 for '
        'detection, 512 512 for segmentation, or the --image size)')
    p.add_argument(
        '--out',
        help='the .onnx file (default: work_dirs/<config '
        'name>/<config name>_<what>.onnx)')
    p.add_argument(
        '--dynamic',
        action='store_true',
        help='symbolic batch, height and width')
    p.add_argument(
        '--what',
        choices=('backbone', 'model'),
        default='model',
        help='the whole model up to its raw head outputs, or the '
        'backbone (default: model)')
    p.add_argument(
        '--verify',
        action='store_true',
        help='compare the export on ONNX Runtime with PyTorch: '
        'outputs, and detections / label maps after the numpy '
        'post-processing; with --dynamic at a second size too')
    p.add_argument(
        '--verify-shape',
        nargs=2,
        type=int,
        metavar=('H', 'W'),
        help='the second size of --verify with --dynamic (default: '
        'the export size transposed)')
    p.add_argument(
        '--image',
        help='verify with this image (pre-processed as '
        'the config says) instead of random input')
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help='threads of torch and ONNX Runtime')
    p.add_argument(
        '--tol',
        type=float,
        default=1e-4,
        help='largest |onnx - torch| / max(1, |torch|) of the raw '
        'outputs (default: 1e-4)')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. '
        'model.test_cfg.score_thr=0.01')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Export (and verify); see ``--help``.

    Returns:
        dict: :func:`mmconvmlp.deployment.pipeline.pytorch2onnx`'s result.

    Raises:
        ToolError: A problem the user can fix, or a failed verification.
    """
    args = parse_args(argv)
    from mmconvmlp.deployment.pipeline import pytorch2onnx
    return pytorch2onnx(
        args.config,
        args.checkpoint,
        out=args.out,
        shape=args.shape,
        what=args.what,
        dynamic=args.dynamic,
        verify=args.verify,
        verify_shape=args.verify_shape,
        image=args.image,
        threads=args.threads,
        cfg_options=args.cfg_options,
        tol=args.tol)


if __name__ == '__main__':
    sys.exit(run_tool(main))
