"""mmconvmlp.deployment: ONNX exports on ONNX Runtime against PyTorch.

The backbone and the whole RetinaNet-S and Semantic FPN-S (random weights
from a small checkpoint, as a user's trained one would be loaded), each
exported once with dynamic axes and checked at two input sizes: raw outputs,
then detections / label maps after the numpy post-processing against
MMDetection's / MMSegmentation's own ``predict``.
"""
import collections

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmconvmlp.deployment import (OnnxModel, compare_detections, export_onnx,
                                  preprocessor_settings, random_input,
                                  read_metadata, verify_export)
from mmconvmlp.deployment.pipeline import load_model
from mmconvmlp.models import ConvMLP
from mmconvmlp.utils import build_model

# The deploy extra; mmconvmlp.deployment imports them only when it needs them.
pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

SIZES = ((64, 96), (96, 64))


def two_sizes():
    return [random_input(SIZES[0]), random_input(SIZES[1], seed=1)]


@pytest.fixture(scope='module')
def backbone(tmp_path_factory):
    model = ConvMLP('s').eval()
    path = str(tmp_path_factory.mktemp('onnx') / 'convmlp_s.onnx')
    meta = export_onnx(model, path, 'backbone', SIZES[0], dynamic=True)
    return model, path, meta


def test_backbone_parity_at_two_sizes(backbone):
    model, path, meta = backbone
    assert meta['tracer_warnings'] == []
    assert read_metadata(path)['outputs'] == [f'feat_{i}' for i in range(4)]
    report = verify_export(model, 'backbone', path, two_sizes())
    assert report['ok'], report
    for check in report['checks']:
        assert check['outputs']['max_error'] < 1e-4


def test_backbone_export_keeps_one_channel_mlp_route(backbone):
    """Exported at 64x96, where the eager model takes the F.linear route
    everywhere, the graph holds every channel MLP as a 1x1 Conv (the route
    a trace always takes); at 256x256 the eager model takes the conv route
    in stage 0 (1024 pixels): the same file matches it there too."""
    import onnx
    model, path, _ = backbone
    ops = collections.Counter(n.op_type for n in onnx.load(path).graph.node)
    assert ops['MatMul'] == 0 and ops['Conv'] == 52
    eager = model.stages[0].blocks[0].mlp1
    assert not eager._conv_route(torch.zeros(1, 8, 12, 128))
    assert eager._conv_route(torch.zeros(1, 32, 32, 128))
    report = verify_export(model, 'backbone', path, [random_input((256, 256))])
    assert report['ok'], report


def tiny_checkpoint(cfg, path):
    """A whole-model checkpoint with random weights, as tools/train.py
    would leave one (state dict under 'state_dict')."""
    model = build_model(cfg)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)


def whole_model(repo_root, tmp_path_factory, config, kind, **options):
    cfg = Config.fromfile(f'{repo_root}/configs/{config}')
    cfg.model.backbone.init_cfg = None
    cfg.merge_from_dict(options)
    tmp = tmp_path_factory.mktemp(kind)
    ckpt = str(tmp / 'model.pth')
    tiny_checkpoint(cfg, ckpt)
    model, _, got = load_model(cfg, ckpt, 'model')
    assert got == kind
    path = str(tmp / f'{kind}.onnx')
    meta = export_onnx(
        model,
        path,
        kind,
        SIZES[0],
        dynamic=True,
        metadata=dict(preprocess=preprocessor_settings(cfg)))
    # Left in eval mode (torch.onnx.export restores its wrapper's mode).
    assert not any(m.training for m in model.modules())
    model.cfg = cfg  # what the inference APIs read the test pipeline from
    return model, path, meta


# A low score threshold (random weights, RetinaNet's prior 0.01) and a small
# test resize keep boxes and sizes small.
DET_OPTIONS = {
    'model.test_cfg.score_thr': 0.005,
    'test_dataloader.dataset.pipeline.1.scale': (96, 64),
}
SEG_OPTIONS = {'test_pipeline.1.scale': (96, 64)}


@pytest.fixture(scope='module')
def retinanet(repo_root, tmp_path_factory):
    return whole_model(repo_root, tmp_path_factory,
                       'retinanet_convmlp_s_coco.py', 'detector',
                       **DET_OPTIONS)


@pytest.fixture(scope='module')
def semantic_fpn(repo_root, tmp_path_factory):
    return whole_model(repo_root, tmp_path_factory, 'fpn_convmlp_s_ade20k.py',
                       'segmentor', **SEG_OPTIONS)


def test_retinanet_parity_at_two_sizes(retinanet):
    model, path, meta = retinanet
    assert meta['tracer_warnings'] == []
    assert len(meta['outputs']) == 10  # 5 levels x (scores, boxes)
    report = verify_export(model, 'detector', path, two_sizes())
    assert report['ok'], report
    for check in report['checks']:
        (det, ) = check['predictions']
        # Random heads give nearly tied scores: a box at the top-k cut may
        # swap with its neighbour when the kernels round differently (AVX2
        # against AVX-512), which verify_export allows for 1 % of the boxes.
        assert det['num_ref'] > 10
        assert det['num_ref'] - det['matched'] <= det['num_ref'] // 100


def test_semantic_fpn_parity_at_two_sizes(semantic_fpn):
    """The scale heads upsample by a factor: traced as it is, the factor's
    sizes would freeze into the graph (wrong maps at 96x64)."""
    model, path, meta = semantic_fpn
    assert meta['tracer_warnings'] == []
    report = verify_export(model, 'segmentor', path, two_sizes())
    assert report['ok'], report
    for check in report['checks']:
        (seg, ) = check['predictions']
        assert seg['different'] <= 1e-3


def image(seed=0, shape=(50, 70, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def test_retinanet_predict_on_an_image_equals_inference_detector(retinanet):
    """OnnxModel.predict (numpy pre-processing, ONNX Runtime, numpy
    post-processing) against mmdet.apis.inference_detector (the test
    pipeline, data preprocessor, model) on one image."""
    from mmdet.apis import inference_detector
    from mmengine.registry import DefaultScope
    model, path, _ = retinanet
    img = image()
    with DefaultScope.overwrite_default_scope('mmdet'):
        ref = inference_detector(model, img).pred_instances
    ref = {k: getattr(ref, k).numpy() for k in ('bboxes', 'scores', 'labels')}
    mine = OnnxModel(path, threads=1).predict(img)
    cmp = compare_detections(ref, mine)
    assert cmp['ok'] and cmp['num_ref'] > 10, cmp


def test_semantic_fpn_predict_on_an_image_equals_inference_model(semantic_fpn):
    from mmengine.registry import DefaultScope
    from mmseg.apis import inference_model
    model, path, _ = semantic_fpn
    img = image(1)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ref = inference_model(model, img).pred_sem_seg.data[0].numpy()
    mine = OnnxModel(path, threads=1).predict(img)
    assert mine.shape == img.shape[:2]
    assert (mine != ref).mean() <= 1e-3
