"""The nine paper configs build models of the paper's parameter counts
(ConvMLP paper, arXiv:2109.04454, Tables 3 and 4: an independent oracle of
the backbone, its taps and the neck/head wiring)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
# Millions of parameters in the paper.
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


@pytest.mark.parametrize('name', sorted(PAPER_PARAMS))
def test_config_builds_the_papers_model(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(params - PAPER_PARAMS[name]) < 0.1, f'{params:.3f} M'
