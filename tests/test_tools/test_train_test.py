"""tools/train.py and tools/test.py run as a user runs them, on tiny datasets
in the real COCO and ADE20K layouts: train -> checkpoint -> test (mAP / mIoU)
-> resume; and the failures a user can act on."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmconvmlp.testing.tool_options import DET_TINY, SEG_TINY
from mmconvmlp.utils import (ToolError, check_neck_channels,
                             register_safe_globals,
                             safe_globals_for_mmengine_checkpoints)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')


def tool(*args, cwd=REPO, timeout=600):
    """Run ``python tools/<args>`` in a fresh process, as a user would."""
    result = subprocess.run([sys.executable, *args],
                            cwd=cwd,
                            capture_output=True,
                            text=True,
                            timeout=timeout,
                            env=dict(os.environ))
    result.output = result.stdout + result.stderr
    return result


def ok(result):
    assert result.returncode == 0, result.output[-4000:]
    return result


def config(name):
    return osp.join(CONFIGS, name + '.py')


# ------------------------------------------------------------ COCO, RetinaNet
@pytest.fixture(scope='module')
def retinanet_run(tmp_path_factory, coco_root):
    work_dir = str(tmp_path_factory.mktemp('retinanet'))
    result = ok(
        tool('tools/train.py', config('retinanet_convmlp_s_coco'),
             '--work-dir', work_dir, '--data-root', coco_root, '--cfg-options',
             *DET_TINY))
    return work_dir, result


def test_train_writes_checkpoint(retinanet_run):
    work_dir, result = retinanet_run
    assert 'Epoch(train) [1][2/2]' in result.stdout  # 4 images, 2 per batch
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_checkpoint_loads_weights_only(retinanet_run):
    """torch.load's weights-only default reads the runner's checkpoint, with
    only the allow-listed classes (nothing else was switched off)."""
    checkpoint = osp.join(retinanet_run[0], 'epoch_1.pth')
    needed = set(
        torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint))
    allowed = set()
    for item in safe_globals_for_mmengine_checkpoints():
        obj, name = item if isinstance(item, tuple) else (item, None)
        allowed.add(name or f'{obj.__module__}.{obj.__qualname__}')
    assert needed <= allowed, needed - allowed
    register_safe_globals()
    state = torch.load(
        checkpoint, map_location='cpu')  # weights_only=True by default
    assert {'state_dict', 'optimizer', 'message_hub', 'meta'} <= set(state)


def test_restricted_getattr_refuses_other_attributes(tmp_path):
    """The getattr that MMEngine checkpoints need resolves HistoryBuffer's
    statistics only, not arbitrary attributes."""
    import collections
    import pickle

    class Sneaky:

        def __reduce__(self):
            return getattr, (collections.OrderedDict, '__init_subclass__')

    path = tmp_path / 'sneaky.pth'
    torch.save({'x': Sneaky()}, path)
    register_safe_globals()
    with pytest.raises(pickle.UnpicklingError, match='is not allowed'):
        torch.load(path)


def test_test_prints_map_and_saves_outputs(retinanet_run, coco_root, tmp_path):
    work_dir = retinanet_run[0]
    out, show_dir = tmp_path / 'results.pkl', tmp_path / 'show'
    result = ok(
        tool('tools/test.py', config('retinanet_convmlp_s_coco'),
             osp.join(work_dir, 'epoch_1.pth'), '--work-dir', str(tmp_path),
             '--data-root', coco_root, '--out', str(out), '--show-dir',
             str(show_dir), '--cfg-options', *DET_TINY,
             'model.test_cfg.score_thr=0.0'))
    assert 'coco/bbox_mAP:' in result.stdout
    assert 'Test results of' in result.stdout
    assert out.is_file()
    assert len(list(show_dir.iterdir())) == 2


def test_resume(retinanet_run, coco_root):
    work_dir = retinanet_run[0]
    result = ok(
        tool('tools/train.py', config('retinanet_convmlp_s_coco'),
             '--work-dir', work_dir, '--data-root', coco_root, '--resume',
             '--cfg-options', *DET_TINY, 'train_cfg.max_epochs=2'))
    assert 'resumed epoch: 1, iter: 2' in result.stdout
    assert 'Epoch(train) [2][2/2]' in result.stdout
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))


# ------------------------------------------------------ ADE20K, Semantic FPN
def test_segmentation_train_test_resume(ade_root, tmp_path):
    cfg, work_dir = config('fpn_convmlp_s_ade20k'), str(tmp_path / 'work')
    common = ['--data-root', ade_root, '--cfg-options', *SEG_TINY]
    result = ok(tool('tools/train.py', cfg, '--work-dir', work_dir, *common))
    assert 'Iter(train) [2/2]' in result.stdout and 'mIoU' in result.stdout
    checkpoint = osp.join(work_dir, 'iter_2.pth')

    out_dir = tmp_path / 'label_maps'
    result = ok(
        tool('tools/test.py', cfg, checkpoint, '--work-dir', work_dir, '--out',
             str(out_dir), *common))
    assert 'Iter(test) [2/2]' in result.stdout
    assert '  mIoU: ' in result.stdout  # the summary printed at the end
    assert len(list(out_dir.glob('*.png'))) == 2

    result = ok(
        tool('tools/train.py', cfg, '--work-dir', work_dir, '--resume',
             checkpoint, *common, 'train_cfg.max_iters=4'))
    assert 'resumed epoch: 0, iter: 2' in result.stdout
    assert 'Iter(train) [4/4]' in result.stdout


def test_amp_on_cpu_trains_in_bfloat16(ade_root, tmp_path):
    """--amp on a CPU: the CPU wrapper with bfloat16 autocast. Emulated
    bfloat16 is allowed here so that the run is the same on every CPU (the
    choice between bfloat16 and float32 is tested in tests/test_engine)."""
    result = ok(
        tool('tools/train.py',
             config('fpn_convmlp_s_ade20k'), '--amp', '--work-dir',
             str(tmp_path), '--data-root', ade_root, '--cfg-options',
             *SEG_TINY, 'train_cfg.max_iters=1', 'train_cfg.val_interval=10',
             'optim_wrapper.allow_emulated_bf16=True'))
    if not torch.cuda.is_available():
        assert 'bfloat16 autocast of the forward pass' in result.stdout
        # the dumped config
        assert "type='mmconvmlp.CPUAmpOptimWrapper'" in result.stdout
    assert 'Iter(train) [1/1]' in result.stdout


@pytest.mark.slow
def test_maskrcnn_train_test_prints_bbox_and_segm_map(coco_root, tmp_path):
    cfg, work_dir = config('maskrcnn_convmlp_s_coco'), str(tmp_path)
    common = ['--data-root', coco_root, '--cfg-options', *DET_TINY]
    ok(tool('tools/train.py', cfg, '--work-dir', work_dir, '--amp', *common))
    result = ok(
        tool('tools/test.py', cfg, osp.join(work_dir,
                                            'epoch_1.pth'), '--work-dir',
             work_dir, *common, 'model.test_cfg.rcnn.score_thr=0.0'))
    assert ('coco/bbox_mAP:' in result.stdout
            and 'coco/segm_mAP:' in result.stdout)


@pytest.mark.slow
def test_distributed_launch_on_cpu(ade_root, tmp_path):
    """tools/dist_train.sh with 2 processes: a gloo process group on a machine
    without GPUs."""
    import socket
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(('127.0.0.1', 0))
        port = str(sock.getsockname()[1])
    env = dict(
        os.environ, PYTHON=sys.executable, PORT=port, OMP_NUM_THREADS='1')
    result = subprocess.run([
        'bash', 'tools/dist_train.sh',
        config('fpn_convmlp_s_ade20k'), '2', '--work-dir',
        str(tmp_path), '--data-root', ade_root, '--cfg-options', *SEG_TINY
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=600,
                            env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert 'Iter(train) [2/2]' in result.stdout
    if not torch.cuda.is_available():
        assert 'gloo process group, rank 0 of 2' in result.stdout


# ----------------------------------------------------------------- failures
def test_missing_dataset_fails_with_one_message(tmp_path):
    """Run where no data/coco exists: one message naming the paths and the fix,
    no traceback, nothing written."""
    result = tool(
        osp.join(REPO, 'tools/train.py'),
        config('retinanet_convmlp_s_coco'),
        cwd=str(tmp_path))
    assert result.returncode == 1
    assert 'Traceback' not in result.output
    assert result.stderr.startswith('error: dataset not found')
    assert 'data/coco/annotations/instances_train2017.json' in result.stderr
    assert 'data/coco/train2017/' in result.stderr
    assert '--data-root /path/to/dataset' in result.stderr
    assert '--cfg-options train_dataloader.dataset.data_root=' in result.stderr
    assert ('val_evaluator.ann_file=/path/to/dataset/annotations/'
            'instances_val2017.json' in result.stderr)
    assert not (tmp_path / 'work_dirs').exists()


def test_missing_segmentation_dataset_for_test(tmp_path, capsys, monkeypatch,
                                               tool_main):
    monkeypatch.chdir(tmp_path)
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    assert tool_main('test', [config('fpn_convmlp_s_ade20k'),
                              str(checkpoint)]) == 1
    err = capsys.readouterr().err
    assert 'data/ade/ADEChallengeData2016/images/validation' in err
    assert 'test_dataloader.dataset.data_root=/path/to/dataset' in err


def test_missing_checkpoint(capsys, tool_main):
    assert tool_main(
        'test',
        [config('retinanet_convmlp_s_coco'), 'no/such/checkpoint.pth']) == 1
    assert 'checkpoint not found: no/such/checkpoint.pth' in capsys.readouterr(
    ).err


def test_neck_mismatch_names_both_lists(coco_root, capsys, tool_main):
    code = tool_main('train', [
        config('retinanet_convmlp_l_coco'), '--data-root', coco_root,
        '--cfg-options', 'model.neck.in_channels=[64,128,256,512]'
    ])
    assert code == 1
    err = capsys.readouterr().err
    assert 'do not match the backbone outputs' in err
    assert '[96, 192, 384, 768]' in err and '[64, 128, 256, 512]' in err
    assert '--cfg-options model.neck.in_channels=[96,192,384,768]' in err


def test_head_mismatch_without_neck():
    """Segmentors without a neck: the decode/auxiliary heads read backbone
    maps."""
    cfg = Config(
        dict(
            default_scope='mmseg',
            custom_imports=dict(imports=['mmconvmlp']),
            model=dict(
                backbone=dict(type='mmconvmlp.ConvMLP', arch='s'),
                decode_head=dict(
                    in_channels=[64, 128, 256, 512], in_index=[0, 1, 2, 3]),
                auxiliary_head=dict(in_channels=1024, in_index=2))))
    with pytest.raises(ToolError) as error:
        check_neck_channels(cfg)
    message = str(error.value)
    assert ('model.auxiliary_head.in_channels' in message
            and '(should be 256)' in message)
    assert 'model.decode_head' not in message  # that one fits
