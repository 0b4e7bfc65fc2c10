#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Predict images, folders and videos with a detector or segmentor checkpoint
(``DetInferencer`` or ``MMSegInferencer``, by the config's scope).

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...]
        [--out-dir outputs] [--device cpu|cuda] [--score-thr 0.3]
        [--batch-size 1] [--cfg-options KEY=VALUE ...]

Writes ``OUT/vis/`` (drawn predictions, videos frame by frame) and
``OUT/preds/`` (docs/inference.md); the checkpoint must fill the model.
"""
import argparse
import os
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2
import mmcv
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmconvmlp.models.utils import (check_checkpoint, enable_safe_loading,
                                    load_checkpoint_file)
from mmconvmlp.utils import ToolError, build_dataset, output_dir, run_tool

VIDEOS = ('.mp4', '.avi', '.mov', '.mkv')


def main(argv=None) -> None:
    """Predict every input and write the results (errors: a missing file
    raises ToolError; see :func:`run_tool`)."""
    parser = argparse.ArgumentParser(
        description='Draw and save the predictions of a checkpoint on '
        'images, folders and videos.')
    add = parser.add_argument
    add('config', help='config the checkpoint was trained with')
    add('checkpoint', help='checkpoint file or URL')
    add('inputs',
        nargs='+',
        metavar='INPUT',
        help='images, folders of images, videos')
    add('--out-dir', default='outputs')
    add('--device', help='cpu, cuda or cuda:N')
    add('--score-thr',
        type=float,
        default=0.3,
        help='detections below it are not drawn')
    add('--batch-size', type=int, default=1)
    add('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    enable_safe_loading()
    for path in [args.config, *args.inputs
                 ] + ([] if '://' in args.checkpoint else [args.checkpoint]):
        if not osp.exists(path):
            raise ToolError(f'not found: {path}')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options or {})
    checkpoint = load_checkpoint_file(args.checkpoint)
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmseg':
        from mmseg.apis import MMSegInferencer as Inferencer
        kwargs = {}
    else:  # DetInferencer saves no predictions by default
        from mmdet.apis import DetInferencer as Inferencer
        kwargs = dict(pred_score_thr=args.score_thr, no_save_pred=False)
    inferencer = Inferencer(cfg, args.checkpoint, device=args.device)
    check_checkpoint(inferencer.model, checkpoint, 'strict', args.checkpoint)
    meta = checkpoint.get('meta') or {}
    if not (meta.get('dataset_meta') or meta.get('CLASSES')):
        metainfo = build_dataset(cfg, cfg.test_dataloader.dataset).metainfo
        names = {k: metainfo[k] for k in ('classes', 'palette')}
        print(
            f"warning: {args.checkpoint} names no classes; using the "
            f"config's {len(names['classes'])}",
            file=sys.stderr)
        inferencer.model.dataset_meta = names
        inferencer.visualizer.dataset_meta = names
    images = [p for p in args.inputs if not p.lower().endswith(VIDEOS)]
    with output_dir(args.out_dir, 'tools/infer.py', fresh=False):
        for video in set(args.inputs) - set(images):  # drawn frame by frame
            reader = mmcv.VideoReader(video)
            out = osp.join(args.out_dir, 'vis', osp.basename(video))
            os.makedirs(osp.dirname(out), exist_ok=True)
            writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*'mp4v'),
                                     reader.fps, (reader.width, reader.height))
            for frame in reader:
                vis = inferencer(frame, return_vis=True, **kwargs)
                writer.write(mmcv.rgb2bgr(vis['visualization'][0]))
            writer.release()
        for path in images:
            inferencer(
                path,
                batch_size=args.batch_size,
                out_dir=args.out_dir,
                **kwargs)
    print(f'predictions written to {osp.abspath(args.out_dir)}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
