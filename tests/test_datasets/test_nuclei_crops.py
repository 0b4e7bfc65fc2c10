"""The NaN of Mask R-CNN on cropped nuclei, at its root, and its fix.

A crop that overlaps an object's box but none of its mask pixels leaves,
after ``RandomCrop(recompute_bbox=True)``, a zero-size box; the RoI head
adds every ground-truth box as a positive proposal, and the box target
``log(w_gt / w_proposal)`` of that one is ``log(0 / 0)``: ``loss_bbox`` is
NaN. ``FilterAnnotations(by_mask=True)`` after the crop (the nuclei
pipelines) drops such objects. The batch below is that case, built by hand;
the losses are the demo config's own Mask R-CNN's.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'demo', 'maskrcnn_convmlp_s_nuclei.py')


def corner_case():
    """A 64x96 picture, crop = its left 64x64: object 0 is inside the crop;
    object 1's box [56, 20, 72, 36] enters the crop, its disc (columns 65-71)
    does not."""
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    rows, cols = np.mgrid[:64, :96]
    discs = [(28, 28, 8), (28, 68, 3)]
    masks = np.stack([((rows - r)**2 + (cols - c)**2 <= rad**2)
                      for r, c, rad in discs]).astype(np.uint8)
    boxes = [[16, 16, 40, 40], [56, 20, 72, 36]]
    img = np.full((64, 96, 3), 20, np.uint8)
    img[masks.any(0)] = 200
    return dict(
        img=img,
        img_shape=(64, 96),
        ori_shape=(64, 96),
        img_path='corner.png',
        img_id=0,
        scale_factor=(1.0, 1.0),
        gt_bboxes=HorizontalBoxes(np.asarray(boxes, np.float32)),
        gt_bboxes_labels=np.zeros(2, np.int64),
        gt_ignore_flags=np.zeros(2, bool),
        gt_masks=BitmapMasks(masks, 64, 96))


def crop_and_pack(cfg, with_filter):
    from mmdet.datasets.transforms import (FilterAnnotations, PackDetInputs,
                                           RandomCrop)

    class LeftCrop(RandomCrop):  # the random offset, fixed at (0, 0)

        def _rand_offset(self, margin):
            return 0, 0

    (crop, ) = [s for s in cfg.train_pipeline if s.type == 'RandomCrop']
    (filt, ) = [s for s in cfg.train_pipeline if s.type == 'FilterAnnotations']
    args = {k: v for k, v in crop.items() if k not in ('type', 'crop_size')}
    steps = [LeftCrop(crop_size=(64, 64), **args)]
    if with_filter:
        steps.append(
            FilterAnnotations(**{
                k: v
                for k, v in filt.items() if k != 'type'
            }))
    results = corner_case()
    for step in steps + [PackDetInputs()]:
        results = step(results)
    return results


@pytest.fixture(scope='module')
def model_and_cfg():
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train(), cfg


def losses(model, packed):
    torch.manual_seed(0)
    data = model.data_preprocessor(
        dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]),
        True)
    return {
        k: float(sum(v) if isinstance(v, list) else v)
        for k, v in model(**data, mode='loss').items() if 'loss' in k
    }


def test_recomputed_box_of_an_empty_mask_makes_loss_bbox_nan(model_and_cfg):
    model, cfg = model_and_cfg
    packed = crop_and_pack(cfg, with_filter=False)
    boxes = packed['data_samples'].gt_instances.bboxes.tensor
    assert boxes.shape == (2, 4)
    widths = (boxes[:, 2] - boxes[:, 0]).tolist()
    assert widths[0] == 17 and widths[1] == 0  # the disc, then nothing
    found = losses(model, packed)
    assert np.isnan(found['loss_bbox'])
    assert all(np.isfinite(v) for k, v in found.items() if k != 'loss_bbox')


def test_the_nuclei_pipeline_drops_it(model_and_cfg):
    model, cfg = model_and_cfg
    packed = crop_and_pack(cfg, with_filter=True)
    boxes = packed['data_samples'].gt_instances.bboxes.tensor
    assert boxes.tolist() == [[20.0, 20.0, 37.0, 37.0]]
    assert all(np.isfinite(v) for v in losses(model, packed).values())
