"""tools/benchmark.py run as a user runs it, in its quick mode (tiny sizes, one
repeat): the JSON on stdout parses and its numbers are consistent."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmconvmlp.benchmark import evaluate_targets, format_tables, parse_args

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def close(a, b, rel=1e-6):
    return math.isclose(a, b, rel_tol=rel)


@pytest.fixture(scope='module')
def quick():
    """One quick run of every section (about 40 s on 2 busy cores). One thread:
    this checks the fields, not the speed, and two threads on a machine whose other
    core is busy wait for each other at every operation."""
    result = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--quick', '--json', '--threads', '1'],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)  # stdout holds the JSON document and nothing else


def test_machine_and_settings(quick):
    m = quick['machine']
    assert m['threads'] == 1 and m['cores'] >= 1 and m['torch'] and m['cpu']
    assert quick['settings']['quick'] and quick['settings']['sections'] == [
        'backbones', 'models', 'memory']
    assert set(quick['other_load']) == {'backbones', 'models', 'memory'}


def test_backbone_rows(quick):
    bb = quick['backbones']
    peak = bb['gemm_peak']['224x224']
    assert set(peak) == {'fp32', 'bf16'} and all(p['gflops'] > 0 for p in peak.values())
    rows = {(r['model'], r['batch'], r['dtype']): r for r in bb['rows']}
    models = {'convmlp-s', 'convmlp-m', 'convmlp-l', 'resnet50', 'resnet50-cl', 'swin-t'}
    assert set(rows) == {(m, b, d) for m in models for b in (1, 2) for d in ('fp32', 'bf16')}

    # MACs as MMEngine counts them in eval mode (documented 2.39 / 3.94 / 9.89 at 224).
    for name, gmacs in (('convmlp-s', 2.39), ('convmlp-m', 3.94), ('convmlp-l', 9.89)):
        assert abs(rows[(name, 1, 'fp32')]['gmacs'] - gmacs) < 0.01
        assert close(rows[(name, 2, 'bf16')]['gmacs'], 2 * rows[(name, 1, 'fp32')]['gmacs'])
    assert abs(rows[('resnet50', 1, 'fp32')]['gmacs'] - 4.1) < 0.1

    for (name, batch, dtype), r in rows.items():
        t = r['latency_s']
        assert t > 0 and r['size'] == [224, 224] and len(r['times_s']) == 1
        assert close(r['throughput_img_s'], batch / t)
        assert close(r['gflops'], 2 * r['gmacs'] / t)
        assert close(r['peak_fraction'], r['gflops'] / peak[dtype]['gflops'])
        assert 0 < r['peak_fraction'] < 5  # sane even on a busy machine
        ref = rows[('resnet50', batch, dtype)]['latency_s']
        ref32 = rows[('resnet50', batch, 'fp32')]['latency_s']
        assert close(r['ratio_resnet50'], t / ref)
        assert close(r['ratio_resnet50_fp32'], t / ref32)
        if dtype == 'bf16':
            assert 0.99 < r['cos_sim_fp32'] <= 1 + 1e-6
        else:
            assert r['cos_sim_fp32'] is None
    assert rows[('resnet50', 1, 'fp32')]['ratio_resnet50'] == 1


def test_model_rows(quick):
    rows = {(r['model'], r['mode'], r['dtype']): r for r in quick['models']['rows']}
    names = {'retinanet-convmlp-s', 'retinanet-r50', 'fpn-convmlp-s', 'fpn-r50'}
    assert set(rows) == {(n, m, d) for n in names for m in ('infer', 'train')
                         for d in ('fp32', 'bf16')}
    for (name, mode, dtype), r in rows.items():
        assert r['latency_s'] > 0 and r['gmacs'] > 0
        peer = {'retinanet-convmlp-s': 'retinanet-r50',
                'fpn-convmlp-s': 'fpn-r50'}.get(name, name)
        assert close(r['ratio_r50'], r['latency_s'] / rows[(peer, mode, dtype)]['latency_s'])
        if dtype == 'bf16':
            assert close(r['bf16_speedup'],
                         rows[(name, mode, 'fp32')]['latency_s'] / r['latency_s'])
    assert rows[('retinanet-convmlp-s', 'train', 'fp32')]['size'] == [128, 128]
    assert rows[('fpn-convmlp-s', 'train', 'fp32')]['size'] == [64, 64]


def test_memory_rows(quick):
    mem = quick['memory']
    off, on = mem['rows']
    assert (off['with_cp'], on['with_cp']) == (False, True)
    for r in (off, on):
        assert r['model'] == 'retinanet-convmlp-s' and r['size'] == [128, 128]
        assert r['peak_mib'] >= r['rss_before_mib'] > 0 and r['step_s'] > 0
        assert close(r['step_mib'], r['peak_mib'] - r['rss_before_mib'])
    assert close(mem['saving_mib'], off['peak_mib'] - on['peak_mib'])


def test_targets_and_table(quick):
    targets = {t['name']: t for t in quick['targets']}
    t = targets['ConvMLP-S fp32 latency / ResNet-50 fp32 latency']
    r = next(r for r in quick['backbones']['rows']
             if (r['model'], r['batch'], r['dtype']) == ('convmlp-s', 1, 'fp32'))
    assert t['size'] == '224x224' and t['value'] == r['ratio_resnet50_fp32']
    assert t['met'] == (t['value'] <= 0.40)
    assert len(targets) == 7  # 4 backbone, 2 bf16 training, 1 memory
    assert evaluate_targets(quick) == quick['targets']
    table = format_tables(quick)
    assert '| convmlp-s | 224x224 | 1 | fp32 |' in table and 'with_cp lowers' in table


def test_parse_args_defaults():
    args = parse_args([])
    assert args.sizes == [(224, 224), (800, 1216)] and args.batch == [8, 2]
    assert args.size_repeats == [5, 3] and args.model_repeats == 3
    assert args.sections == ['backbones', 'models', 'memory']
    args = parse_args(['--only', 'backbones', '--sizes', '64x96', '--batch', '3',
                       '--repeats', '2', '--backbones', 'convmlp-s'])
    assert args.sizes == [(64, 96)] and args.batch == [3] and args.size_repeats == [2]
    assert args.backbones == ['resnet50', 'convmlp-s']  # the reference of the ratios
    with pytest.raises(SystemExit):
        parse_args(['--sizes', '800'])


@pytest.mark.slow
def test_compiled_backbone_rows():
    """--compile adds NAME+compile rows (the same MACs, ratios to the compiled
    ResNet-50) and their targets."""
    result = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--json', '--only', 'backbones', '--compile',
         '--backbones', 'convmlp-s', '--sizes', '96x128', '--batch', '1', '--repeats', '1',
         '--warmup', '1', '--gemm-sizes', '256', '--threads', '1'],
        cwd=REPO, capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout)
    assert out['settings']['compile']
    rows = {(r['model'], r['dtype']): r for r in out['backbones']['rows']}
    names = {'resnet50', 'convmlp-s', 'resnet50+compile', 'convmlp-s+compile'}
    assert set(rows) == {(n, d) for n in names for d in ('fp32', 'bf16')}
    for dtype in ('fp32', 'bf16'):
        eager, compiled = rows[('convmlp-s', dtype)], rows[('convmlp-s+compile', dtype)]
        assert compiled['gmacs'] == eager['gmacs']
        ref = rows[('resnet50+compile', dtype)]['latency_s']
        assert close(compiled['ratio_resnet50'], compiled['latency_s'] / ref)
    assert rows[('convmlp-s+compile', 'bf16')]['cos_sim_fp32'] > 0.999
    names = [t['name'] for t in out['targets']]
    assert 'ConvMLP-S fp32 GFLOP/s / fp32 GEMM peak (torch.compile, both)' in names
