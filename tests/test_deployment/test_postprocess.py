"""mmconvmlp.deployment.postprocess: the numpy pre- and post-processing
against the MMCV / MMDetection / torch code it redoes, piece by piece."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmconvmlp.deployment.postprocess import (batched_nms, decode_boxes,
                                              detector_settings, grid_anchors,
                                              nms, preprocess,
                                              preprocessor_settings,
                                              rescale_size, resize_bilinear,
                                              segmentor_postprocess)


def random_boxes(n, seed=0, size=100.):
    g = np.random.default_rng(seed)
    xy = g.uniform(0, size, (n, 2)).astype(np.float32)
    wh = g.uniform(2, size / 3, (n, 2)).astype(np.float32)
    # Distinct scores: MMCV's sort is not stable, ties could order either way.
    scores = g.permutation(n).astype(np.float32) / n
    return np.concatenate([xy, xy + wh], 1), scores


def test_nms_and_batched_nms_equal_mmcv():
    from mmcv.ops import batched_nms as mmcv_batched_nms
    from mmcv.ops import nms as mmcv_nms
    boxes, scores = random_boxes(300)
    labels = np.random.default_rng(1).integers(0, 5, 300)
    for thr in (0.3, 0.5, 0.7):
        _, ref = mmcv_nms(
            torch.from_numpy(boxes), torch.from_numpy(scores), thr)
        np.testing.assert_array_equal(nms(boxes, scores, thr), ref.numpy())
    for cfg in (dict(iou_threshold=0.5),
                dict(iou_threshold=0.5, class_agnostic=True),
                dict(iou_threshold=0.5, split_thr=100)):  # per-class branch
        dets, ref = mmcv_batched_nms(
            torch.from_numpy(boxes), torch.from_numpy(scores),
            torch.from_numpy(labels), dict(cfg))
        keep, kept_scores = batched_nms(boxes, scores, labels, cfg)
        np.testing.assert_array_equal(keep, ref.numpy())
        np.testing.assert_array_equal(kept_scores, dets[:, -1].numpy())


def test_grid_anchors_equal_mmdet_anchor_generator():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    gen = AnchorGenerator(
        octave_base_scale=4,
        scales_per_octave=3,
        ratios=[0.5, 1.0, 2.0],
        strides=[8, 16, 32, 64, 128])
    sizes = [(9, 13), (5, 7), (3, 4), (2, 2), (1, 1)]
    ref = gen.grid_priors(sizes, device='cpu')
    mine = grid_anchors([a.numpy() for a in gen.base_anchors], gen.strides,
                        sizes)
    for r, m in zip(ref, mine):
        np.testing.assert_array_equal(m, r.numpy())


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(add_ctr_clamp=True),
    dict(target_stds=[.1, .1, .2, .2], clip_border=False)
])
def test_decode_boxes_equal_delta_xywh_coder(kwargs):
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    coder = DeltaXYWHBBoxCoder(**kwargs)
    anchors, _ = random_boxes(200)
    deltas = np.random.default_rng(2).normal(0, 2, (200, 4)).astype(np.float32)
    ref = coder.decode(
        torch.from_numpy(anchors),
        torch.from_numpy(deltas),
        max_shape=(60, 80))
    settings = dict(
        means=coder.means,
        stds=coder.stds,
        clip_border=coder.clip_border,
        add_ctr_clamp=coder.add_ctr_clamp,
        ctr_clamp=coder.ctr_clamp,
        wh_ratio_clip=16 / 1000)
    mine = decode_boxes(anchors, deltas, settings, (60, 80))
    np.testing.assert_allclose(mine, ref.numpy(), rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('size', [(37, 53), (8, 6), (16, 24)])
def test_resize_bilinear_equals_interpolate(size, align_corners):
    x = np.random.default_rng(3).normal(size=(2, 3, 16, 24)).astype(np.float32)
    ref = F.interpolate(
        torch.from_numpy(x),
        size,
        mode='bilinear',
        align_corners=align_corners)
    np.testing.assert_allclose(
        resize_bilinear(x, size, align_corners), ref.numpy(), atol=1e-5)


def test_segmentor_postprocess_crops_padding_and_resizes():
    logits = np.zeros((1, 3, 8, 10), np.float32)
    logits[0, 2, :, :5] = 1  # class 2 left, class 0 right
    meta = dict(
        pad_shape=(32, 40),
        img_shape=(32, 20),
        ori_shape=(16, 10),
        padding_size=[0, 20, 0, 0])
    (out, ) = segmentor_postprocess(logits,
                                    dict(align_corners=False, threshold=.3),
                                    [meta])
    # The image is the left half of the padded input: all of it class 2.
    assert out.shape == (16, 10) and out.dtype == np.int64
    assert (out == 2).all()


def test_rescale_size_and_preprocess():
    import mmcv
    assert rescale_size((640, 480), (1333, 800)) == ((1067, 800), 800 / 480)
    assert rescale_size((100, 50), (2048, 512))[0] == (1024, 512)
    settings = dict(
        mean=[1., 2., 3.],
        std=[2., 2., 2.],
        bgr_to_rgb=True,
        size_divisor=32,
        pad_value=0.,
        resize=dict(scale=[40, 24], keep_ratio=True))
    img = np.random.default_rng(4).integers(0, 255, (30, 50, 3), np.uint8)
    x, meta = preprocess(img, settings)
    assert meta['img_shape'] == (24, 40) and meta['pad_shape'] == (32, 64)
    assert meta['ori_shape'] == (30, 50) and meta['scale_factor'] == (.8, .8)
    assert meta['padding_size'] == [0, 24, 0, 8]
    assert x.shape == (1, 3, 32, 64) and x.dtype == np.float32
    assert (x[..., 24:, :] == 0).all() and (x[..., 40:] == 0).all()
    # Resized as MMCV does (uint8 stays uint8), BGR -> RGB, (v - mean) / std.
    small = mmcv.imrescale(img, (40, 24))
    np.testing.assert_array_equal(x[0, 0, :24, :40],
                                  (small[..., 2].astype(np.float32) - 1) / 2)
    x, meta = preprocess(img, settings, resize=False)
    assert x.shape == (1, 3, 32, 64) and meta['scale_factor'] == (1., 1.)


def test_settings_of_the_project_configs(repo_root):
    import mmconvmlp.models  # noqa: F401
    from mmconvmlp.deployment.postprocess import segmentor_settings
    from mmconvmlp.utils import build_model
    det = Config.fromfile(f'{repo_root}/configs/retinanet_convmlp_s_coco.py')
    seg = Config.fromfile(f'{repo_root}/configs/fpn_convmlp_s_ade20k.py')
    p = preprocessor_settings(det)
    assert p['mean'] == [123.675, 116.28, 103.53] and p['bgr_to_rgb']
    assert p['size_divisor'] == 32
    assert p['resize'] == dict(scale=[1333, 800], keep_ratio=True)
    p = preprocessor_settings(seg)
    assert p['resize'] == dict(scale=[2048, 512], keep_ratio=True)
    assert p['size_divisor'] is None
    for cfg in (det, seg):
        cfg.model.backbone.init_cfg = None
    s = detector_settings(build_model(det))
    assert s['num_classes'] == 80 and s['use_sigmoid']
    assert len(s['base_anchors']) == 5 and len(s['base_anchors'][0]) == 9
    assert s['test_cfg']['nms'] == dict(type='nms', iou_threshold=0.5)
    assert s['test_cfg']['nms_pre'] == 1000
    assert s['test_cfg']['max_per_img'] == 100
    s = segmentor_settings(build_model(seg))
    assert s['num_classes'] == 150 and s['align_corners'] is False


def test_unsupported_models_raise():

    class Fake:
        bbox_head = object()

    with pytest.raises(NotImplementedError, match='single-stage anchor'):
        detector_settings(Fake())
