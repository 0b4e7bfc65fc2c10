"""tools/analysis_tools (benchmark, get_flops, plot_curves) and
tools/deployment/pytorch2onnx.py, run in-process through their main()."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
SEMFPN = osp.join(REPO, 'configs', 'fpn_convmlp_s_ade20k.py')


def tool(name):
    """``tools/<name>.py`` as a module (the tools are not a package)."""
    path = osp.join(REPO, 'tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(
        '_tool_' + name.replace('/', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cpu_flags():
    """The CPU's flags as the kernel lists them (not through torch)."""
    with open('/proc/cpuinfo') as f:
        return next((ln.split(':', 1)[1].split()
                     for ln in f if ln.startswith('flags')), [])


def test_benchmark_quick_table(tmp_path, capsys):
    # No timing assertions (a shared machine). The bf16 row exists where the
    # kernel reports native bfloat16 (AVX512-BF16 or AMX) and neither ATen's
    # nor oneDNN's kernels were held below AVX-512 when torch started (both
    # read ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA once, at start-up).
    out = tmp_path / 'bench.json'
    result = tool('analysis_tools/benchmark').main(
        ['--quick', '--shape', '64', '96', '--out',
         str(out)])
    settings = [r['setting'] for r in result['rows']]
    assert settings[:2] == ['fp32', 'fp32 fused']
    flags = _cpu_flags()
    aten = os.environ.get('ATEN_CPU_CAPABILITY', 'avx512').lower()
    onednn = os.environ.get('ONEDNN_MAX_CPU_ISA', 'ALL').upper()
    held = not aten.startswith('avx512') or onednn == 'AVX' or \
        onednn.startswith(('SSE', 'AVX2'))
    native = 'avx512f' in flags and not held and bool(
        {'avx512_bf16', 'amx_bf16'} & set(flags))
    assert ('bf16 fused' in settings) == native
    printed = capsys.readouterr().out
    assert '| fp32 fused | ConvMLP-S |' in printed
    assert json.loads(out.read_text())['shape'] == [64, 96]


@pytest.mark.parametrize(
    'config,params', [(RETINANET, 18.74), (SEMFPN, 12.76)], ids=['det', 'seg'])
def test_get_flops_params_match_the_paper(config, params, tmp_path):
    # Paper (arXiv:2109.04454, Tables 3 and 4): 18.7 M and 12.8 M.
    out = tmp_path / 'flops.json'
    [result] = tool('analysis_tools/get_flops').main(
        [config, '--shape', '256', '320', '--out',
         str(out)])
    total = result['parts']['total']
    assert round(total['params'] / 1e6, 2) == params
    assert round(result['parts']['backbone']['params'] / 1e6, 2) == 8.51
    assert total['macs'] > sum(p['macs'] for n, p in result['parts'].items()
                               if n in ('backbone', 'neck')) > 0
    assert json.loads(out.read_text())[0]['input'] == [256, 320]


def _checkpoint(config, path):
    """Random weights of a config's model as a checkpoint file; box class
    scores spread out so that RetinaNet keeps boxes without ties."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    if hasattr(model, 'bbox_head'):
        torch.nn.init.normal_(model.bbox_head.retina_cls.weight, std=0.3)
        torch.nn.init.zeros_(model.bbox_head.retina_cls.bias)
    torch.save(dict(state_dict=model.state_dict()), path)
    return model.eval()


def test_onnx_backbone_matches_pytorch(tmp_path):
    ort = pytest.importorskip('onnxruntime')
    model = _checkpoint(RETINANET, tmp_path / 'r.pth')
    out = str(tmp_path / 'backbone.onnx')
    assert tool('deployment/pytorch2onnx').main([
        RETINANET,
        str(tmp_path / 'r.pth'), '--what', 'backbone', '--shape', '96', '128',
        '--out', out
    ]) == 0
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    x = torch.randn(1, 3, 75, 110)  # not the export size: dynamic H, W
    with torch.no_grad():
        ref = model.backbone(x)
    got = session.run(None, {'input': x.numpy()})
    assert len(got) == len(ref) == 4
    for o, r in zip(got, ref):
        np.testing.assert_allclose(o, r.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('config', [RETINANET, SEMFPN], ids=['det', 'seg'])
def test_onnx_model_export_and_verify(config, tmp_path, capsys):
    pytest.importorskip('onnxruntime')
    _checkpoint(config, tmp_path / 'm.pth')
    # The test pipeline's resize (index 1) made small, and unlike the
    # export size: the verification also checks the dynamic axes.
    status = tool('deployment/pytorch2onnx').main([
        config,
        str(tmp_path / 'm.pth'), '--shape', '128', '128', '--verify', '--out',
        str(tmp_path / 'm.onnx'), '--cfg-options',
        'test_dataloader.dataset.pipeline.1.scale=(224,160)'
    ])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert 'verification passed' in printed
    assert '100.00 % agree' in printed


def test_plot_curves_writes_a_png(tmp_path):
    log = tmp_path / 'run' / '20240101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    lines = [dict(loss=2.0 / i, lr=1e-4, step=i) for i in range(1, 6)]
    lines.append({'coco/bbox_mAP': 0.1, 'step': 5})
    log.write_text('\n'.join(map(json.dumps, lines)) + '\n')
    out = tmp_path / 'curves.png'
    tool('analysis_tools/plot_curves').main(
        [str(tmp_path / 'run'), '--out',
         str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(SystemExit):
        tool('analysis_tools/plot_curves').main(
            [str(tmp_path / 'run'), '--keys', 'mIoU'])
