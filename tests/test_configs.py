"""The nine paper configs: they build, have the paper's parameter counts,
follow the paper's recipes, and each model family trains and predicts on tiny
inputs."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmconvmlp.testing.batches import (build_model, det_batch, num_params,
                                       seg_batch, train_and_infer)

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
IMAGENET_URL = ('https://shi-labs.com/projects/convmlp/checkpoints/'
                'convmlp_{}_imagenet.pth')

# Parameter counts of the ConvMLP paper (arXiv:2109.04454, Tables 3 and 4),
# millions.
PAPER_PARAMS = {
    'retinanet_convmlp_s_coco': 18.7,
    'retinanet_convmlp_m_coco': 27.1,
    'retinanet_convmlp_l_coco': 52.9,
    'maskrcnn_convmlp_s_coco': 28.7,
    'maskrcnn_convmlp_m_coco': 37.1,
    'maskrcnn_convmlp_l_coco': 62.2,
    'fpn_convmlp_s_ade20k': 12.8,
    'fpn_convmlp_m_ade20k': 21.1,
    'fpn_convmlp_l_ade20k': 46.3,
}
BACKBONE_CHANNELS = {
    's': [64, 128, 256, 512],
    'm': [64, 128, 256, 512],
    'l': [96, 192, 384, 768]
}


def load(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))
    return cfg


@pytest.mark.parametrize('name', sorted(PAPER_PARAMS))
def test_config_builds_with_paper_param_count(name):
    cfg = load(name)
    arch = name.split('_')[2]
    backbone = cfg.model.backbone
    assert backbone.type == 'mmconvmlp.ConvMLP' and backbone.arch == arch
    # Only ConvMLP's own arguments: _delete_ dropped ResNet's depth/style/...
    assert set(backbone) == {'type', 'arch', 'out_indices', 'init_cfg'}
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=IMAGENET_URL.format(arch))
    assert cfg.custom_imports == dict(
        imports=['mmconvmlp'], allow_failed_imports=False)

    # the URL cannot be reached from the tests
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    assert list(model.backbone.out_channels) == BACKBONE_CHANNELS[arch]
    assert list(model.neck.in_channels) == list(model.backbone.out_channels)
    params = num_params(model) / 1e6
    assert abs(params -
               PAPER_PARAMS[name]) < 0.1, f'{name}: {params:.3f} M parameters'


@pytest.mark.parametrize(
    'name', ['retinanet_convmlp_s_coco', 'maskrcnn_convmlp_m_coco'])
def test_detection_recipe(name):
    cfg = load(name)
    assert cfg.default_scope == 'mmdet'
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=1e-4, weight_decay=1e-4)
    assert cfg.optim_wrapper.get('clip_grad') is None
    assert cfg.train_cfg.max_epochs == 12
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.by_epoch) == ('LinearLR', 500,
                                                          False)
    assert (steps.type, steps.milestones) == ('MultiStepLR', [8, 11])
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.dataset.pipeline[2].scale == (1333, 800)
    if name.startswith('retinanet'):
        assert (cfg.model.neck.start_level, cfg.model.neck.num_outs) == (1, 5)
    else:
        assert cfg.val_evaluator.metric == ['bbox', 'segm']


@pytest.mark.parametrize('name',
                         ['fpn_convmlp_s_ade20k', 'fpn_convmlp_l_ade20k'])
def test_segmentation_recipe(name):
    cfg = load(name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.pretrained is None
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.model.neck.num_outs == 4
    assert cfg.model.data_preprocessor.size == (512, 512)
    assert cfg.train_dataloader.dataset.pipeline[3].crop_size == (512, 512)
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=2e-4, weight_decay=1e-4)
    (poly, ) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 0.9,
                                                               0.0, 40000)
    assert cfg.train_cfg.max_iters == 40000


def test_retinanet_trains_and_predicts():
    cfg = load('retinanet_convmlp_s_coco')
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    model.init_weights()
    _, preds = train_and_infer(model, det_batch(size=(96, 128)))
    assert preds[0].pred_instances.bboxes.shape[1] == 4


def test_maskrcnn_trains_and_predicts():
    cfg = load('maskrcnn_convmlp_s_coco')
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    model.init_weights()
    log_vars, preds = train_and_infer(
        model, det_batch(size=(96, 128), with_mask=True))
    assert 'loss_mask' in log_vars
    assert 'masks' in preds[0].pred_instances


def test_semantic_fpn_trains_and_predicts():
    cfg = load('fpn_convmlp_s_ade20k')
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (64, 96
                                        )  # the configs pad to 512x512 crops
    model = build_model(cfg)
    model.init_weights()
    _, preds = train_and_infer(model, seg_batch(size=(64, 96)))
    assert preds[0].pred_sem_seg.data.shape[-2:] == (64, 96)
    assert int(preds[0].pred_sem_seg.data.max()) < 150
