"""tools/analysis_tools/benchmark.py and mmconvmlp.utils.benchmark: the
fields of the results and how they relate, on tiny inputs with one repeat.

Nothing here depends on the CPU's ISA or on how long anything takes: bf16
support is patched where it matters, and no time is compared with a bound.
"""
import importlib.util
import json
import math
import mmap
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import mmconvmlp.utils.cpu as cpu
from mmconvmlp.testing.batches import build_model, num_params
from mmconvmlp.utils.benchmark import (OtherLoad, TimedRun, count_gmacs,
                                       gemm_peak, gemm_rows, gemm_runs,
                                       machine_info, measure_interleaved,
                                       peak_rss_of_step)

TOOL = osp.join('tools', 'analysis_tools', 'benchmark.py')


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel)


@pytest.fixture(scope='module')
def tool(repo_root):
    """The tool script as a module (it is no package module)."""
    spec = importlib.util.spec_from_file_location('_benchmark_tool',
                                                  osp.join(repo_root, TOOL))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------ package helpers
def test_measure_interleaved_order_and_counts():
    calls = []
    runs = [
        TimedRun(dict(i=i), lambda i=i: calls.append(i) or float(i + 1))
        for i in range(3)
    ]
    lines = []
    measure_interleaved(runs, warmup=1, repeats=3, log=lines.append)
    # Warm-up in order, then forward, backward, forward rounds.
    assert calls == [0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2]
    assert [r.times for r in runs] == [[1.0] * 3, [2.0] * 3, [3.0] * 3]
    assert runs[2].median == 3.0 and len(lines) == 4
    with pytest.raises(ValueError):
        measure_interleaved(runs, warmup=0, repeats=0)


def test_gemm_rows_and_peak(one_thread):
    runs = gemm_runs([64], ['fp32'])
    assert [r.key['gemm'] for r in runs] == ['mm', 'conv1x1']
    measure_interleaved(runs, warmup=0, repeats=1)
    rows = gemm_rows(runs)
    for row in rows:
        assert close(row['gflops'], 2 * 64**3 / row['latency_s'] / 1e9)
        assert row['min_s'] == row['latency_s'] == row['times_s'][0]
    peak = gemm_peak(rows)
    assert set(peak) == {'fp32'}
    assert peak['fp32']['gflops'] == max(r['gflops'] for r in rows)


def test_peak_rss_of_step():
    kept = []

    # 64 MiB of fresh anonymous pages, touched, alive after the step. (malloc
    # could hand back heap memory that earlier tests freed and that is still
    # resident; the resident set would then not grow.)
    def step():
        block = mmap.mmap(-1, 64 * 2**20)
        block.write(b'\1' * len(block))
        kept.append(block)

    r = peak_rss_of_step(step)
    assert r['peak_mib'] >= r['rss_before_mib'] > 0
    assert close(r['step_mib'], r['peak_mib'] - r['rss_before_mib'])
    assert r["step_mib"] > 32 and r["step_s"] >= 0, r


def test_machine_info_names_the_isa(monkeypatch):
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2')
    monkeypatch.setattr(cpu, 'has_native_bf16', lambda: False)
    with OtherLoad() as load:
        m = machine_info(threads=1)
    assert load.fraction is None or load.fraction >= 0
    assert m['cpu'] and m['hardware_isa'] and m['threads'] == 1
    assert m['torch_isa'] == torch.backends.cpu.get_cpu_capability()
    assert m['bf16_native'] is False and m['onednn_max_cpu_isa'] == 'AVX2'
    assert m['torch'] == torch.__version__ and m['mmdet']


def test_macs_of_the_backbones(tool):
    """GMACs at 224x224, batch 1, as MMEngine counts them (eval mode)."""
    x = torch.randn(1, 3, 224, 224)
    for arch, gmacs in (('s', 2.39), ('m', 3.94), ('l', 9.89)):
        assert abs(
            count_gmacs(tool.build_backbone(f'convmlp-{arch}'), (x, )) -
            gmacs) < 0.01
    assert abs(count_gmacs(tool.build_backbone('resnet50'), (x, )) - 4.1) < .1


# ------------------------------------------------------------ tool sections
def test_parse_args(tool):
    args = tool.parse_args([])
    assert args.sizes == [(224, 224), (800, 1216)] and args.batch == [8, 2]
    assert args.size_repeats == [5, 3] and args.model_repeats == 3
    assert args.sections == ['backbones', 'models', 'memory']
    assert args.dtypes == ['fp32', 'bf16'] and args.config is None
    args = tool.parse_args([
        '--only', 'backbones', '--sizes', '64x96', '--batch', '3', '--repeats',
        '2', '--backbones', 'convmlp-s', '--compile'
    ])
    assert args.sizes == [(64, 96)] and args.batch == [3]
    assert args.size_repeats == [2]
    assert args.backbones == [
        'resnet50', 'convmlp-s', 'resnet50+compile', 'convmlp-s+compile'
    ]
    for bad in (['--sizes', '800'], ['--sizes', '16x16'],
                ['--sizes', '64x64', '96x96', '--batch', '1', '2', '3']):
        with pytest.raises(SystemExit):
            tool.parse_args(bad)


def test_select_dtypes(tool):
    both = ['fp32', 'bf16']
    assert tool.select_dtypes(both, True, False) == (['fp32'], ['bf16'])
    assert tool.select_dtypes(both, False, False) == (both, [])
    assert tool.select_dtypes(both, True, True) == (both, [])


def test_backbone_rows(tool, one_thread):
    out = tool.run_backbones(['resnet50', 'convmlp-s'], [(32, 32)], [2],
                             ['fp32', 'bf16'], [1],
                             0, [64],
                             bf16_native=False)
    peak = out['gemm_peak']['32x32']
    assert set(peak) == {'fp32', 'bf16'}
    assert {
        g['dtype']: g['bf16_native']
        for g in out['gemm']
    } == {
        'fp32': None,
        'bf16': False
    }
    rows = {(r['model'], r['batch'], r['dtype']): r for r in out['rows']}
    assert set(rows) == {(m, b, d)
                         for m in ('resnet50', 'convmlp-s')
                         for b in (1, 2)
                         for d in ('fp32', 'bf16')}
    for (name, batch, dtype), r in rows.items():
        t = r['latency_s']
        assert r['size'] == [32, 32] and r['times_s'] == [t]
        assert close(r['gmacs'], batch * rows[(name, 1, 'fp32')]['gmacs'])
        assert close(r['throughput_img_s'], batch / t)
        assert close(r['gflops'], 2 * r['gmacs'] / t)
        assert close(r['peak_fraction'], r['gflops'] / peak[dtype]['gflops'])
        assert close(r['ratio_resnet50'],
                     t / rows[('resnet50', batch, dtype)]['latency_s'])
        assert close(r['ratio_resnet50_fp32'],
                     t / rows[('resnet50', batch, 'fp32')]['latency_s'])
        if dtype == 'bf16':
            assert r['bf16_native'] is False
            assert 0.9 < r['cos_sim_fp32'] <= 1 + 1e-6
        else:
            assert r['bf16_native'] is None and r['cos_sim_fp32'] is None
    assert rows[('resnet50', 1, 'fp32')]['ratio_resnet50'] == 1

    fig, = tool.ratio_figures(out['rows'])
    assert fig['name'] == 'ConvMLP-S fp32 latency / ResNet-50 fp32 latency'
    assert (fig['size'], fig['batch']) == ('32x32', 1)
    assert fig['value'] == rows[('convmlp-s', 1, 'fp32')]['ratio_resnet50']


def test_whole_models_are_the_paper_models(tool, repo_root):
    """The stock configs with ConvMLP-S swapped in build the paper's models
    (RetinaNet-S 18.74 M parameters, Semantic FPN-S 12.8 M)."""
    models = {m.name: m for m in tool.whole_models()}
    assert list(models) == [
        'retinanet-r50', 'retinanet-convmlp-s', 'fpn-r50', 'fpn-convmlp-s'
    ]
    assert models['retinanet-convmlp-s'].peer == 'retinanet-r50'
    for name, paper, params in (('retinanet-convmlp-s',
                                 'retinanet_convmlp_s_coco', 18.74),
                                ('fpn-convmlp-s', 'fpn_convmlp_s_ade20k',
                                 12.8)):
        cfg = tool.whole_model_config(models[name])
        assert cfg.model.backbone == dict(
            type='mmconvmlp.ConvMLP', arch='s', init_cfg=None)
        ours = num_params(build_model(cfg))
        ref = Config.fromfile(osp.join(repo_root, 'configs', paper + '.py'))
        ref.model.backbone.init_cfg = None
        assert ours == num_params(build_model(ref))
        assert abs(ours / 1e6 - params) < 0.05
    peer = tool.whole_model_config(models['fpn-r50'], size=(64, 64))
    assert peer.model.backbone.type == 'ResNetV1c'
    assert peer.model.backbone.init_cfg is None
    assert peer.model.pretrained is None
    assert peer.model.data_preprocessor.size == (64, 64)
    assert tool.whole_model_config(
        models['retinanet-convmlp-s'], with_cp=True).model.backbone.with_cp


def test_whole_models_from_given_configs(tool, repo_root, tmp_path):
    paper = osp.join(repo_root, 'configs', 'retinanet_convmlp_s_coco.py')
    stock = tool.stock_config('mmseg')
    models = tool.whole_models([paper, stock], arch='m')
    assert [(m.name, m.arch, m.peer) for m in models
            ] == [('retinanet_convmlp_s_coco', None, None),
                  ('fpn_r50_4xb4-160k_ade20k-512x512', None, None),
                  ('fpn_r50_4xb4-160k_ade20k-512x512-convmlp-m', 'm',
                   'fpn_r50_4xb4-160k_ade20k-512x512')]
    assert [m.is_convmlp for m in models] == [True, False, True]
    bad = tmp_path / 'bad.py'
    bad.write_text("model = dict(backbone=dict(type='X'))\n")
    with pytest.raises(ValueError):
        tool.whole_models([str(bad)])


def test_model_rows(tool, one_thread):
    models = [m for m in tool.whole_models() if m.scope == 'mmseg']
    out = tool.run_models(models, (64, 64), (64, 64), 1, ['fp32'], 1, 0)
    rows = {(r['model'], r['mode']): r for r in out['rows']}
    assert set(rows) == {(m, mode)
                         for m in ('fpn-r50', 'fpn-convmlp-s')
                         for mode in ('infer', 'train')}
    for (name, mode), r in rows.items():
        assert r['size'] == [64, 64] and r['gmacs'] > 0 and r['params_m'] > 0
        assert close(r['throughput_img_s'], 1 / r['latency_s'])
        peer = rows[('fpn-r50', mode)]['latency_s']
        assert close(r['ratio_r50'], r['latency_s'] / peer)
        assert r['ratio_r50_fp32'] == r['ratio_r50']
        assert r['bf16_speedup'] is None and r['bf16_native'] is None
    assert rows[('fpn-convmlp-s', 'infer')]['peer'] == 'fpn-r50'


def _tiny(*extra):
    return [
        '--only', 'backbones', '--backbones', 'convmlp-s', '--sizes', '32x32',
        '--batch', '1', '--gemm-sizes', '64', '--threads', '1', *extra
    ]


def test_emulated_bf16(tool, monkeypatch):
    """Without native bf16, --quick leaves the bf16 rows out and says so;
    otherwise they run and are marked emulated."""
    monkeypatch.setattr(cpu, 'has_native_bf16', lambda: False)
    quick = tool.run(tool.parse_args(_tiny('--quick')))
    assert quick['machine']['bf16_native'] is False
    assert quick['settings']['dtypes'] == ['fp32']
    assert quick['settings']['dtypes_left_out'] == ['bf16']
    assert {r['dtype'] for r in quick['backbones']['rows']} == {'fp32'}
    assert 'Left out: bf16 rows' in tool.format_tables(quick)

    full = tool.run(tool.parse_args(_tiny('--repeats', '1', '--warmup', '0')))
    bf16 = [r for r in full['backbones']['rows'] if r['dtype'] == 'bf16']
    assert bf16 and all(r['bf16_native'] is False for r in bf16)
    table = tool.format_tables(full)
    assert 'bfloat16 emulated' in table
    assert '| convmlp-s | 32x32 | 1 | bf16 (emulated) |' in table
    assert '| convmlp-s | 32x32 | 1 | fp32 |' in table
    assert ('ConvMLP-S fp32 latency / ResNet-50 fp32 latency, 32x32, '
            'batch 1: ') in table

    monkeypatch.setattr(cpu, 'has_native_bf16', lambda: True)
    native = tool.run(tool.parse_args(_tiny('--quick', '--dtypes', 'bf16')))
    assert native['settings']['dtypes_left_out'] == []
    assert all(r['bf16_native'] is True for r in native['backbones']['rows'])
    assert 'emulated' not in tool.format_tables(native)


def test_cli_quick_json(repo_root):
    """The script as a user runs it: stdout holds the JSON and nothing else."""
    result = subprocess.run(
        [sys.executable, TOOL, '--quick', '--json', *_tiny()],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout)
    m = out['machine']
    assert m['cpu'] and m['torch_isa'] and m['hardware_isa']
    assert m['threads'] == 1 and isinstance(m['bf16_native'], bool)
    assert 'onednn_max_cpu_isa' in m and 'aten_cpu_capability' in m
    rows = out['backbones']['rows']
    assert {r['model'] for r in rows} == {'resnet50', 'convmlp-s'}
    dtypes = {r['dtype'] for r in rows}
    if m['bf16_native']:
        assert dtypes == {'fp32', 'bf16'}
    else:
        assert dtypes == {'fp32'} and 'no native bfloat16' in result.stderr
    fig, = out['figures']
    assert fig['size'] == '32x32' and 'ResNet-50 fp32 latency' in fig['name']
    assert 'targets' not in out and 'ResNet-50 fp32 latency' in result.stderr


@pytest.mark.slow
def test_models_and_memory_cli(repo_root):
    """The models and memory sections, each measurement of memory in its own
    process."""
    result = subprocess.run([
        sys.executable, TOOL, '--quick', '--json', '--only', 'models',
        'memory', '--det-size', '64x64', '--dtypes', 'fp32', '--threads', '1'
    ],
                            cwd=repo_root,
                            capture_output=True,
                            text=True,
                            timeout=900,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout)
    assert {r['model']
            for r in out['models']['rows']} == {
                'retinanet-r50', 'retinanet-convmlp-s', 'fpn-r50',
                'fpn-convmlp-s'
            }
    off, on = out['memory']['rows']
    assert (off['with_cp'], on['with_cp']) == (False, True)
    for r in (off, on):
        assert r['model'] == 'retinanet-convmlp-s' and r['size'] == [64, 64]
        assert close(r['step_mib'], r['peak_mib'] - r['rss_before_mib'])
    assert close(out['memory']['saving_mib'], off['peak_mib'] - on['peak_mib'])


@pytest.mark.slow
def test_compiled_backbone_rows(repo_root, inductor_isa_consistent):
    """--compile adds NAME+compile rows: the same MACs, ratios to the
    compiled ResNet-50, and their own figure line."""
    result = subprocess.run([
        sys.executable, TOOL, '--json', '--only', 'backbones', '--compile',
        '--backbones', 'convmlp-s', '--sizes', '96x128', '--batch', '1',
        '--repeats', '1', '--warmup', '1', '--gemm-sizes', '256', '--dtypes',
        'fp32', '--threads', '1'
    ],
                            cwd=repo_root,
                            capture_output=True,
                            text=True,
                            timeout=900,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout)
    assert out['settings']['compile']
    rows = {r['model']: r for r in out['backbones']['rows']}
    assert set(rows) == {
        'resnet50', 'convmlp-s', 'resnet50+compile', 'convmlp-s+compile'
    }
    compiled = rows['convmlp-s+compile']
    assert compiled['gmacs'] == rows['convmlp-s']['gmacs']
    assert close(compiled['ratio_resnet50'],
                 compiled['latency_s'] / rows['resnet50+compile']['latency_s'])
    names = [f['name'] for f in out['figures']]
    assert names == [
        'ConvMLP-S fp32 latency / ResNet-50 fp32 latency',
        'ConvMLP-S fp32 latency / ResNet-50 fp32 latency '
        '(torch.compile, both)'
    ]


# ------------------------------------------------------------------ runtimes
def _runtime_rows(tool, runtimes):
    out = tool.run_runtimes(['convmlp-s'], [(64, 96)], runtimes, 1, [1], 0)
    rows = {r['runtime']: r for r in out['rows']}
    assert list(rows) == list(runtimes) and out['missing'] == {}
    eager = rows['eager']['latency_s']
    for rt, r in rows.items():
        assert (r['model'], r['size'], r['batch']) == ('convmlp-s', [64,
                                                                     96], 1)
        assert r['dtype'] == 'fp32' and r['threads'] == 1
        assert close(r['ratio_eager'], r['latency_s'] / eager)
        assert close(r['throughput_img_s'], 1 / r['latency_s'])
        assert r['max_error'] < 1e-4  # outputs checked against eager's
    assert rows['eager']['ratio_eager'] == 1
    assert rows['eager']['max_error'] == 0
    return out


def _runtime_table(tool, out):
    """The Markdown the tool prints for a runtimes section alone."""
    return tool.format_tables(
        dict(
            machine=machine_info(1),
            other_load={},
            runtimes=out,
            settings=dict(
                repeats_desc='1', dtypes=['fp32'], dtypes_left_out=[])))


def test_runtime_rows_onnxruntime(tool, one_thread):
    pytest.importorskip('onnxruntime')
    out = _runtime_rows(tool, ['eager', 'onnxruntime'])
    text = _runtime_table(tool, out)
    assert '| convmlp-s | 64x96 | onnxruntime | 1 |' in text
    assert 'convmlp-s fp32 latency, onnxruntime / eager, 64x96' in text


def test_runtime_rows_openvino(tool, one_thread):
    pytest.importorskip('onnxruntime')
    pytest.importorskip('openvino')
    _runtime_rows(tool, ['eager', 'openvino'])


@pytest.mark.slow
def test_runtime_rows_compile(tool, one_thread, inductor_isa_consistent):
    _runtime_rows(tool, ['eager', 'compile'])


def test_missing_runtimes_are_left_out(tool, monkeypatch):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name, *a: None
        if name == 'openvino' else find_spec(name, *a))
    out = tool.run_runtimes(['convmlp-s'], [(32, 32)], ['eager', 'openvino'],
                            1, [1], 0)
    assert out['missing'] == {'openvino': 'openvino'}
    assert [r['runtime'] for r in out['rows']] == ['eager']
    text = _runtime_table(tool, out)
    assert 'openvino: not installed (openvino), no rows' in text


def test_parse_args_runtimes(tool):
    from mmconvmlp.utils.benchmark import RUNTIMES
    args = tool.parse_args(['--runtimes', 'eager', 'onnxruntime'])
    assert args.sections == ['backbones', 'models', 'memory', 'runtimes']
    assert args.runtimes == ['eager', 'onnxruntime']
    args = tool.parse_args(['--only', 'runtimes'])
    assert args.sections == ['runtimes'] and args.runtimes == list(RUNTIMES)
    assert args.runtime_backbones == ['convmlp-s']
    assert tool.parse_args([]).sections == ['backbones', 'models', 'memory']
