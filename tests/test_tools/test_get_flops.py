"""tools/analysis_tools/get_flops.py and mmconvmlp.utils.complexity: the
numbers are MMEngine's analyser's, per part and in total, for detection and
segmentation configs with no dataset on disk; the BatchNorms ConvMLP folds in
eval mode and its two channel-MLP routes are counted right."""
import functools
import json
import os.path as osp

import pytest
import torch
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.config import Config

from mmconvmlp import ConvMLP
from mmconvmlp.models.backbones.convmlp import ChannelMLP, ConvNormAct
from mmconvmlp.testing.batches import build_model
from mmconvmlp.utils.complexity import config_complexity

TOOL = 'analysis_tools/get_flops'
SHAPE = (96, 128)


def config(repo_root, name):
    return osp.join(repo_root, 'configs', name + '.py')


def run_json(tool_main, capsys, *argv):
    assert tool_main(TOOL, [*argv, '--format', 'json']) == 0
    return json.loads(capsys.readouterr().out)


def folded_bn_elements(model, inputs):
    """Output elements of the conv-BN-ReLU layers whose eval BatchNorm the
    backbone folds (each one's BatchNorm is 2 ops per element unfolded)."""
    sizes = []
    hooks = [
        m.register_forward_hook(lambda m, a, out: sizes.append(out.numel()))
        for m in model.modules() if isinstance(m, ConvNormAct)
    ]
    with torch.no_grad():
        model(inputs, None, mode='tensor')
    for h in hooks:
        h.remove()
    return sum(sizes)


def test_counts_are_mmengines(tool_main, capsys, repo_root):
    """The table's totals are get_model_complexity_info's on the same
    tensor-mode forward, plus the folded BatchNorms unless --fold-bn."""
    path = config(repo_root, 'retinanet_convmlp_s_coco')
    shape = [str(s) for s in SHAPE]
    (result, ) = run_json(tool_main, capsys, path, '--shape', *shape)
    (folded, ) = run_json(tool_main, capsys, path, '--shape', *shape,
                          '--fold-bn')

    model = build_model(Config.fromfile(path)).eval()
    inputs = torch.zeros(1, 3, *SHAPE)
    bn_elements = folded_bn_elements(model, inputs)
    model.forward = functools.partial(model.forward, mode='tensor')
    info = get_model_complexity_info(
        model, inputs=(inputs, ), show_table=False, show_arch=False)
    assert bn_elements > 0
    assert folded['macs'] == info['flops']
    assert result['macs'] == info['flops'] + 2 * bn_elements
    assert result['params'] == folded['params'] == info['params']
    assert result['ops']['batch_norm'] == 2 * bn_elements
    assert 'batch_norm' not in folded['ops']  # RetinaNet's FPN/head have none

    assert result['input_shape'] == list(SHAPE)
    assert [p['name']
            for p in result['parts']] == ['backbone', 'neck', 'bbox_head']
    assert sum(p['macs'] for p in result['parts']) == result['macs']
    assert sum(p['params'] for p in result['parts']) == result['params']
    assert result['gflops'] == pytest.approx(2 * result['gmacs'])
    assert result['gmacs'] == pytest.approx(result['macs'] / 1e9)


def test_text_table(tool_main, capsys, repo_root):
    """Detection and segmentation configs in one call, no dataset needed
    (the configs' data roots do not exist here); GMACs and GFLOPs named."""
    det = config(repo_root, 'retinanet_convmlp_s_coco')
    seg = config(repo_root, 'fpn_convmlp_s_ade20k')
    assert tool_main(TOOL, [det, seg, '--shape', '64']) == 0
    out = capsys.readouterr().out
    assert 'retinanet_convmlp_s_coco (RetinaNet), input 1x3x64x64' in out
    assert 'fpn_convmlp_s_ade20k (EncoderDecoder), input 1x3x64x64' in out
    assert 'params (M)      GMACs     GFLOPs' in out
    for part in ('backbone', 'neck', 'bbox_head', 'decode_head', 'total'):
        assert f'  {part} ' in out
    assert 'GFLOPs = 2 x GMACs' in out


def test_segmentor_parts_include_the_heads_own_ops(repo_root):
    """mmseg calls decode_head.forward directly; its upsampling still counts
    towards the head, and the parts add up to the analyser's total."""
    cfg = Config.fromfile(config(repo_root, 'fpn_convmlp_s_ade20k'))
    result = config_complexity(cfg, (64, 64))
    parts = {p.name: p for p in result.parts}
    assert set(parts) == {'backbone', 'neck', 'decode_head'}
    assert sum(p.macs for p in parts.values()) == result.macs
    assert result.ops['batch_norm'] > 0  # FPNHead's own BN (eval, 2/elt)


def test_two_stage_detector_reports_its_rois(repo_root):
    cfg = Config.fromfile(config(repo_root, 'maskrcnn_convmlp_s_coco'))
    result = config_complexity(cfg, (128, 128))
    assert [p.name for p in result.parts
            ] == ['backbone', 'neck', 'rpn_head', 'roi_head']
    assert sum(p.macs for p in result.parts) == result.macs
    assert 0 < result.num_rois <= 1000
    assert 'prim::PythonOp.RoIAlignFunction' in result.uncounted_ops


def test_channel_mlp_routes_count_the_same(monkeypatch):
    """The channel MLPs as 1x1 convs (the route a CPU trace takes) or as
    F.linear: the same multiply-adds."""
    x = torch.zeros(1, 3, 96, 128)
    counts = []
    for conv_route in (True, False):
        monkeypatch.setattr(
            ChannelMLP, '_conv_route', lambda self, x, route=conv_route: route)
        analyzer = FlopAnalyzer(ConvMLP('s').eval(), (x, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        counts.append((analyzer.total(), analyzer.by_operator()))
    (conv_total, conv_ops), (linear_total, linear_ops) = counts
    assert conv_total == linear_total
    assert 'linear' not in conv_ops and linear_ops['linear'] > 0


def test_refuses_other_code_bases(tool_main, capsys, tmp_path):
    path = tmp_path / 'other.py'
    path.write_text("default_scope = 'mmpretrain'\nmodel = dict(type='X')\n")
    assert tool_main(TOOL, [str(path)]) == 1
    assert 'default_scope mmdet or mmseg' in capsys.readouterr().err
