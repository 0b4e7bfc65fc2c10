"""tools/deployment/pytorch2onnx.py: export and --verify from the command
line, backbone extraction, and the errors a user can act on."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmconvmlp.deployment import read_metadata
from mmconvmlp.utils import build_model

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

TOOL = osp.join('tools', 'deployment', 'pytorch2onnx.py')
SEG_CONFIG = osp.join('configs', 'fpn_convmlp_s_ade20k.py')


@pytest.fixture(scope='module')
def seg_checkpoint(repo_root, tmp_path_factory):
    """Random Semantic FPN-S weights in a checkpoint as tools/train.py
    writes them (state dict under 'state_dict', keys 'backbone.*', ...)."""
    cfg = Config.fromfile(osp.join(repo_root, SEG_CONFIG))
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'fpn.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def test_cli_exports_and_verifies_a_dynamic_segmentor(repo_root,
                                                      seg_checkpoint,
                                                      tmp_path):
    out = str(tmp_path / 'fpn.onnx')
    proc = subprocess.run([
        sys.executable, TOOL, SEG_CONFIG, seg_checkpoint, '--shape', '64',
        '96', '--dynamic', '--verify', '--threads', '1', '--out', out
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[-1] == 'verification passed', proc.stdout
    assert any(line.startswith('input 1x3x64x96') for line in lines)
    assert any(line.startswith('input 1x3x96x64') for line in lines)
    assert sum('label map' in line and 'ok' in line for line in lines) == 2
    meta = read_metadata(out)
    assert meta['kind'] == 'segmentor' and meta['dynamic']
    assert meta['preprocess']['mean'] == [123.675, 116.28, 103.53]


def test_backbone_of_a_whole_model_checkpoint(tool_main, repo_root,
                                              seg_checkpoint, tmp_path):
    out = str(tmp_path / 'backbone.onnx')
    assert tool_main('deployment/pytorch2onnx', [
        osp.join(repo_root, SEG_CONFIG), seg_checkpoint, '--what', 'backbone',
        '--shape', '64', '64', '--verify', '--out', out
    ]) == 0
    meta = read_metadata(out)
    assert meta['kind'] == 'backbone' and not meta['dynamic']
    assert meta['outputs'] == ['feat_0', 'feat_1', 'feat_2', 'feat_3']


def test_user_errors(tool_main, repo_root, seg_checkpoint, tmp_path, capsys):
    config = osp.join(repo_root, SEG_CONFIG)
    det = osp.join(repo_root, 'configs', 'retinanet_convmlp_s_coco.py')
    out = ['--out', str(tmp_path / 'x.onnx')]
    cases = [
        ([config, str(tmp_path / 'missing.pth')], 'checkpoint not found'),
        ([det, seg_checkpoint, '--shape', '64',
          '64'], 'does not fit the model of the config'),
        ([config, seg_checkpoint, '--shape', '16', '64'], 'at least 32'),
    ]
    for argv, message in cases:
        assert tool_main('deployment/pytorch2onnx', argv + out) == 1
        assert message in capsys.readouterr().err
