"""tools/train.py and tools/test.py: no code runs from a checkpoint (one
message, exit 1), pinned checkpoints, and a run killed and resumed ends
with the same weights as one that was never interrupted."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmconvmlp.testing.data import generate_tiny_ade20k, generate_tiny_coco
from mmconvmlp.testing.untrusted import (serve_directory,
                                         write_hostile_checkpoint)
from mmconvmlp.utils import sha256sum

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
SEG_CONFIG = osp.join(REPO, 'configs', 'fpn_convmlp_s_ade20k.py')
# Tiny reproducible runs (fixed seed, deterministic ops) on small images,
# validated at every checkpoint: RetinaNet-ConvMLP-S, 2 iterations per
# epoch, and Semantic FPN-ConvMLP-S, a checkpoint every 2 iterations.
TINY = [
    'model.backbone.init_cfg=None', 'randomness.seed=0',
    'randomness.deterministic=True',
    'default_hooks.checkpoint.max_keep_ckpts=2'
] + [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
] + [
    'val_dataloader.dataset.pipeline.1.scale=(128,96)',
    'test_dataloader.dataset.pipeline.1.scale=(128,96)'
]
DET_TINY = TINY + [
    'train_cfg.val_interval=1',
    'train_dataloader.dataset.pipeline.2.scale=(128,96)'
]
SEG_TINY = TINY + [
    'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
    'train_dataloader.batch_size=2', 'model.data_preprocessor.size=(64,64)',
    'train_dataloader.dataset.pipeline.2.scale=(128,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)'
]
# config, options, data set, length option, final checkpoint.
RUNS = dict(
    retinanet=(CONFIG, DET_TINY, 'coco', 'train_cfg.max_epochs={}',
               'epoch_{}.pth'),
    fpn=(SEG_CONFIG, SEG_TINY, 'ade', 'train_cfg.max_iters={}', 'iter_{}.pth'))


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    return generate_tiny_coco(str(tmp_path_factory.mktemp('data') / 'coco'))


@pytest.fixture(scope='module')
def data_roots(coco_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('data') / 'ADEChallengeData2016'
    return dict(coco=coco_root, ade=generate_tiny_ade20k(str(root)))


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """EVIL.pth served on 127.0.0.1; yields ``(url, marker)``."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    root, marker = tmp_path / 'www', tmp_path / 'MARKER'
    root.mkdir()
    write_hostile_checkpoint(str(root / 'EVIL.pth'), str(marker))
    with serve_directory(str(root)) as url:
        yield f'{url}/EVIL.pth', marker


def one_error(capsys):
    """The single ``error:`` line the tool printed (and no traceback)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and 'Traceback' not in err, err[-3000:]
    return lines[0]


def test_test_refuses_hostile_url(hostile, coco_root, tmp_path, capsys,
                                  tool_main):
    url, marker = hostile
    code = tool_main('test', [
        CONFIG, url, '--work-dir',
        str(tmp_path), '--data-root', coco_root, '--cfg-options', *DET_TINY
    ])
    message = one_error(capsys)
    assert code == 1 and not marker.exists()
    assert f'checkpoint {url} refused' in message
    assert 'posix.system' in message and 'nothing in it ran' in message
    assert 'weights_only' not in message


@pytest.mark.parametrize('key', ['load_from', 'backbone'])
def test_train_refuses_hostile_checkpoint(key, hostile, coco_root, tmp_path,
                                          capsys, tool_main):
    """As ``load_from`` and as the backbone's ``init_cfg`` checkpoint."""
    url, marker = hostile
    if key == 'load_from':
        options = DET_TINY + [f'load_from={url}']
    else:
        options = [o for o in DET_TINY if 'init_cfg' not in o]
        options.append(f'model.backbone.init_cfg.checkpoint={url}')
    code = tool_main('train', [
        CONFIG, '--work-dir',
        str(tmp_path), '--data-root', coco_root, '--cfg-options', *options
    ])
    message = one_error(capsys)
    assert code == 1 and not marker.exists()
    assert f'checkpoint {url} refused' in message
    assert not list(tmp_path.glob('*.pth'))  # refused before training


def test_load_from_sha256(coco_root, tmp_path, capsys, tool_main):
    """A pinned checkpoint that differs is refused before anything runs;
    the message names the file and both hashes."""
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, path)
    code = tool_main('test', [
        CONFIG,
        str(path), '--data-root', coco_root, '--cfg-options', *DET_TINY,
        'load_from_sha256=' + 'a' * 64
    ])
    message = one_error(capsys)
    assert code == 1
    assert str(path) in message and sha256sum(str(path)) in message
    assert 'a' * 64 in message


# ------------------------------------------------- a resumed run, the same
def train(kind, work_dir, data_roots, length):
    """tools/train.py for ``length`` epochs or iterations in a fresh process,
    always with --resume, as a job script that restarts a killed run would
    call it."""
    config, options, data, length_option, _ = RUNS[kind]
    args = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir',
        str(work_dir), '--data-root', data_roots[data], '--resume',
        '--cfg-options', *options,
        length_option.format(length)
    ]
    return subprocess.Popen(
        args,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def finish(process, timeout=600):
    output = process.communicate(timeout=timeout)[0]
    assert process.returncode == 0, output[-4000:]
    return output


def final_checkpoint(kind, work_dir, length):
    return torch.load(osp.join(work_dir, RUNS[kind][4].format(length)))


def assert_same_weights(got, reference):
    """All tensors of the model and of the optimizer state are equal."""
    assert got['meta']['iter'] == reference['meta']['iter']
    state, ref_state = got['state_dict'], reference['state_dict']
    assert len(state) == len(ref_state) > 150
    differ = [k for k in ref_state if not torch.equal(state[k], ref_state[k])]
    assert not differ, f'{len(differ)}/{len(ref_state)} differ: {differ[:5]}'
    opt, ref_opt = got['optimizer']['state'], reference['optimizer']['state']
    assert opt.keys() == ref_opt.keys()
    for key, values in ref_opt.items():
        for name, value in values.items():
            assert torch.equal(
                torch.as_tensor(opt[key][name]),
                torch.as_tensor(value)), (key, name)


@pytest.fixture(scope='module')
def uninterrupted(data_roots, tmp_path_factory):
    """``uninterrupted(kind)``: the work dir, output and final checkpoint of
    a run of 3 epochs (6 iterations) in one go, started with --resume in an
    empty work dir. Each run once per module."""
    runs = {}

    def run(kind):
        if kind not in runs:
            work_dir = tmp_path_factory.mktemp(f'uninterrupted_{kind}')
            length = 3 if kind == 'retinanet' else 6
            output = finish(train(kind, work_dir, data_roots, length))
            runs[kind] = (work_dir, output,
                          final_checkpoint(kind, work_dir, length))
        return runs[kind]

    return run


def test_resume_with_nothing_to_resume_warns(uninterrupted):
    work_dir, output, _ = uninterrupted('retinanet')
    assert (f'WARNING - --resume: no checkpoint to resume from in '
            f'{work_dir}; training starts from the beginning.') in output
    assert 'Epoch(train) [1][2/2]' in output


@pytest.mark.parametrize('kind', ['retinanet', 'fpn'])
def test_resumed_run_ends_with_the_same_weights(kind, uninterrupted,
                                                data_roots, tmp_path):
    """Stopped at the second checkpoint (what a kill -9 after it leaves,
    plus a truncated next checkpoint, as MMEngine's own writer would leave
    it, named in last_checkpoint), then resumed to the end. The FPN run is
    iteration-based: the loop skips the batches already trained on."""
    stop, end = (2, 3) if kind == 'retinanet' else (4, 6)
    name = RUNS[kind][4]
    finish(train(kind, tmp_path, data_roots, stop))
    with open(tmp_path / name.format(stop), 'rb') as f:
        (tmp_path / name.format(end)).write_bytes(f.read()[:1 << 20])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / name.format(end)))

    output = finish(train(kind, tmp_path, data_roots, end))
    epoch = 2 if kind == 'retinanet' else 0  # not counted by iter loops
    assert f'resumed epoch: {epoch}, iter: 4' in output
    assert 'Restored the random generator states' in output
    assert_same_weights(
        final_checkpoint(kind, tmp_path, end),
        uninterrupted(kind)[2])


@pytest.mark.slow
def test_kill_9_then_resume(uninterrupted, data_roots, tmp_path):
    """A real kill -9 once epoch 1's checkpoint exists (wherever the run
    then is), then the same command again."""
    process = train('retinanet', tmp_path, data_roots, 3)
    deadline = time.time() + 300
    while not (tmp_path / 'epoch_1.pth').exists():
        assert process.poll() is None and time.time() < deadline
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    output = finish(train('retinanet', tmp_path, data_roots, 3))
    assert 'resumed epoch:' in output
    assert_same_weights(
        final_checkpoint('retinanet', tmp_path, 3),
        uninterrupted('retinanet')[2])
