"""ConvMLP swapped into stock MMDetection / MMSegmentation configs no one here
wrote: the configs shipped inside the installed packages."""
import os.path as osp

import pytest
from batches import build_model, det_batch, seg_batch, train_and_infer
from mmengine.config import Config

from mmconvmlp.utils import (IMAGENET_CHECKPOINTS, check_neck_channels,
                             swap_backbone)


def stock_config(package, path):
    """A config shipped in ``<package>/.mim/configs`` (``Config.fromfile`` does
    not resolve the ``mmdet::`` prefix for the top-level file)."""
    module = __import__(package)
    return Config.fromfile(
        osp.join(osp.dirname(module.__file__), '.mim', 'configs', path))


DET_CONFIGS = {
    'faster_rcnn': ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', False),
    'fcos': ('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', False),
    'atss': ('atss/atss_r50_fpn_1x_coco.py', False),
    'cascade_mask_rcnn':
    ('cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py', True),
}
SEG_CONFIGS = {
    'upernet':
    'upernet/upernet_r50_4xb4-80k_ade20k-512x512.py',
    'deeplabv3plus':
    'deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
}


@pytest.mark.parametrize('name', sorted(DET_CONFIGS))
def test_swap_into_mmdet_config(name):
    path, with_mask = DET_CONFIGS[name]
    cfg = stock_config('mmdet', path)
    swap_backbone(cfg, arch='s', pretrained=False)

    assert cfg.model.backbone == dict(
        type='mmconvmlp.ConvMLP', arch='s', init_cfg=None)
    assert cfg.model.neck.in_channels == [64, 128, 256, 512]
    # ImageNet RGB statistics, also for caffe
    assert cfg.model.data_preprocessor.bgr_to_rgb
    assert 'mmconvmlp' in cfg.custom_imports['imports']
    check_neck_channels(cfg)  # what tools/train.py checks before training

    if 'rpn' in cfg.model.get('test_cfg', {}):
        # Fewer proposals keep the two-stage steps fast on tiny images.
        cfg.model.train_cfg.rpn_proposal.max_per_img = 256
        cfg.model.test_cfg.rpn.max_per_img = 100
        rcnn = cfg.model.train_cfg.rcnn
        for stage in (rcnn if isinstance(rcnn, list) else [rcnn]):
            stage.sampler.num = 64
    model = build_model(cfg)
    _, preds = train_and_infer(model,
                               det_batch(size=(96, 128), with_mask=with_mask))
    assert 'bboxes' in preds[0].pred_instances
    if with_mask:
        assert 'masks' in preds[0].pred_instances


@pytest.mark.parametrize('name', sorted(SEG_CONFIGS))
def test_swap_into_mmseg_config(name):
    cfg = stock_config('mmseg', SEG_CONFIGS[name])
    swap_backbone(cfg, arch='s', pretrained=False)

    assert cfg.model.pretrained is None
    head = cfg.model.decode_head
    if name == 'upernet':
        assert head.in_channels == [64, 128, 256, 512]
    else:  # DeepLabV3+: ASPP on the last map, low-level branch on the first
        assert (head.in_channels, head.c1_in_channels) == (512, 64)
    assert cfg.model.auxiliary_head.in_channels == 256  # in_index 2
    check_neck_channels(cfg)

    cfg.model.data_preprocessor.size = (
        64, 96)  # the stock configs pad to 512x512 crops
    model = build_model(cfg)
    _, preds = train_and_infer(model, seg_batch(size=(64, 96)))
    assert preds[0].pred_sem_seg.data.shape[-2:] == (64, 96)


def test_swap_keeps_custom_imports_and_sets_weights():
    cfg = stock_config('mmdet', DET_CONFIGS['atss'][0])
    cfg.custom_imports = dict(
        imports=['my_project'], allow_failed_imports=False)
    swap_backbone(cfg, arch='large', drop_path_rate=0.2, out_indices=(1, 2, 3))
    assert cfg.custom_imports['imports'] == ['my_project', 'mmconvmlp']
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=IMAGENET_CHECKPOINTS['l'])
    assert cfg.model.backbone.drop_path_rate == 0.2
    assert cfg.model.neck.in_channels == [192, 384, 768]


def test_readme_recipe(tmp_path):
    """The few config lines of the README, on a stock config."""
    config = tmp_path / 'faster-rcnn_convmlp_s_fpn_1x_coco.py'
    config.write_text(
        "_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']\n"
        "custom_imports = dict(imports=['mmconvmlp'], "
        "allow_failed_imports=False)\n"
        'model = dict(\n'
        "    backbone=dict(_delete_=True, type='mmconvmlp.ConvMLP', "
        "arch='s',\n"
        "                  init_cfg=dict(type='Pretrained', "
        "checkpoint='https://shi-labs.com/"
        "projects/convmlp/checkpoints/convmlp_s_imagenet.pth')),\n"
        '    neck=dict(in_channels=[64, 128, 256, 512]))\n')
    cfg = Config.fromfile(str(config))
    assert set(cfg.model.backbone) == {'type', 'arch', 'init_cfg'}
    check_neck_channels(cfg)
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    assert type(model.backbone).__name__ == 'ConvMLP'
