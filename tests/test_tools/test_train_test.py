"""tools/train.py and tools/test.py as a user runs them, on tiny datasets in
the real COCO and ADE20K layouts: train -> checkpoint -> test (mAP / mIoU),
resume to the same weights, the authors' layout, and refusals by name."""
import glob
import json
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
FPN = osp.join(REPO, 'configs', 'fpn_convmlp_s_ade20k.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
TINY = [
    'model.backbone.init_cfg=None', 'default_hooks.logger.interval=1',
    'randomness.seed=0', 'randomness.deterministic=True'
] + [
    f'{loader}.{key}' for loader in LOADERS
    for key in ('num_workers=0', 'persistent_workers=False')
]
DET_TINY = TINY + [
    'train_cfg.max_epochs=1',
    'model.test_cfg.score_thr=0.0',
    'train_dataloader.dataset.pipeline.2.scale=(128,96)',
    'val_dataloader.dataset.pipeline.1.scale=(128,96)',
    'test_dataloader.dataset.pipeline.1.scale=(128,96)',
]
SEG_TINY = TINY + [
    'train_cfg.max_iters=2',
    'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2',
    'train_dataloader.batch_size=2',
    'model.data_preprocessor.size=(64,64)',
    'train_dataloader.dataset.pipeline.2.scale=(128,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
    'val_dataloader.dataset.pipeline.1.scale=(128,96)',
    'test_dataloader.dataset.pipeline.1.scale=(128,96)',
]


def weights(path):
    return torch.load(path, weights_only=False)['state_dict']


@pytest.fixture(scope='module')
def retinanet_run(tmp_path_factory, coco_root, tool_main):
    """One epoch of RetinaNet-ConvMLP-S on the tiny COCO data."""
    work_dir = str(tmp_path_factory.mktemp('retinanet'))
    assert tool_main('train', [
        RETINANET, '--work-dir', work_dir, '--data-root', coco_root,
        '--cfg-options', *DET_TINY
    ]) == 0
    return work_dir


def test_test_prints_map_and_saves_outputs(retinanet_run, coco_root, tool_main,
                                           tmp_path, capsys):
    out, show = tmp_path / 'results.pkl', tmp_path / 'show'
    assert tool_main('test', [
        RETINANET,
        osp.join(retinanet_run, 'epoch_1.pth'), '--work-dir',
        str(tmp_path), '--data-root', coco_root, '--out',
        str(out), '--show-dir',
        str(show), '--cfg-options', *DET_TINY
    ]) == 0
    assert 'coco/bbox_mAP: ' in capsys.readouterr().out
    assert out.is_file() and len(list(show.glob('*.jpg'))) == 2


def test_train_logs_what_it_changes_in_the_config(retinanet_run):
    """One INFO line per change, in the run's log file."""
    (log, ) = glob.glob(osp.join(retinanet_run, '*', '*.log'))
    lines = [
        line.split(' - INFO - ')[1] for line in open(log)
        if 'tools/train.py changed the config' in line
    ]
    prefix = 'tools/train.py changed the config: '
    assert lines == [
        prefix + 'train_dataloader.dataset.pipeline.0: LoadImageFromFile '
        'replaced by mmconvmlp.SafeLoadImageFromFile (undecodable images '
        'skipped by name)\n',
        prefix + "custom_hooks: {'type': 'mmconvmlp.CheckpointCheckHook'} "
        '(the config has it already)\n',
        prefix + "custom_hooks: {'type': 'mmconvmlp.ResumeStateHook'} (the "
        'config has it already)\n'
    ]


def test_a_work_dir_with_a_users_file_is_refused(coco_root, tool_main,
                                                 tmp_path, capsys):
    mine = tmp_path / 'notes' / 'results.txt'
    mine.parent.mkdir()
    mine.write_text('mine')
    assert tool_main('train', [
        RETINANET, '--work-dir',
        str(tmp_path), '--data-root', coco_root, '--cfg-options', *DET_TINY
    ]) == 1
    assert f'found 1 file(s): {mine} that it did not write' in \
        capsys.readouterr().err
    assert mine.read_text() == 'mine'
    assert sorted(p.name
                  for p in tmp_path.rglob('*')) == ['notes', 'results.txt']


def test_resumed_run_ends_with_the_uninterrupted_weights(
        retinanet_run, coco_root, tool_main, tmp_path):
    """A run stopped after epoch 1 and resumed equals a run of 2 epochs."""
    straight = str(tmp_path / 'straight')
    common = [
        '--data-root', coco_root, '--cfg-options', *DET_TINY,
        'train_cfg.max_epochs=2', 'train_cfg.val_interval=3'
    ]
    assert tool_main('train', [RETINANET, '--work-dir', straight, *common]) \
        == 0
    assert tool_main(
        'train',
        [RETINANET, '--work-dir', retinanet_run, '--resume', *common]) == 0
    resumed = weights(osp.join(retinanet_run, 'epoch_2.pth'))
    for key, value in weights(osp.join(straight, 'epoch_2.pth')).items():
        assert torch.equal(value, resumed[key]), key


def test_authors_layout_evaluates_like_ours(retinanet_run, coco_root,
                                            tool_main, tmp_path, capsys):
    """The trained model saved as the authors' mmdet 2.x file (backbone names
    as the original code writes them, meta CLASSES) tests the same; with one
    backbone tensor missing it is refused, the key named in both layouts."""
    from mmconvmlp.models.utils import original_key
    names = {
        k
        for k, _ in json.load(
            open(osp.join(REPO, 'tests', 'data', 'authors_keys.json')))['s']
    }
    ours = torch.load(
        osp.join(retinanet_run, 'epoch_1.pth'), weights_only=False)
    state = {}
    for key, value in ours['state_dict'].items():
        if key.startswith('backbone.'):
            key = 'backbone.' + original_key(key[9:])
            assert key[9:] in names
        state[key] = value
    classes = ours['meta']['dataset_meta']['classes']
    authors = tmp_path / 'authors.pth'
    torch.save(dict(meta=dict(CLASSES=classes), state_dict=state), authors)
    results = []
    for path in (osp.join(retinanet_run, 'epoch_1.pth'), str(authors)):
        assert tool_main('test', [
            RETINANET, path, '--work-dir',
            str(tmp_path / 'work'), '--data-root', coco_root, '--cfg-options',
            *DET_TINY
        ]) == 0
        results.append(
            capsys.readouterr().out.split('Test results of')[1].split('\n',
                                                                      1)[1])
    assert results[0] == results[1]

    del state['backbone.stages.1.blocks.0.connect.weight']
    torch.save(dict(meta=dict(CLASSES=classes), state_dict=state), authors)
    assert tool_main('test', [
        RETINANET,
        str(authors), '--data-root', coco_root, '--cfg-options', *DET_TINY
    ]) == 1
    err = capsys.readouterr().err
    assert 'backbone: 1 missing key(s): backbone.stages.1.blocks.0.dwconv.' \
        'weight (stages.1.blocks.0.connect.weight in the authors\' layout)' \
        in err


def test_hostile_checkpoint_is_refused(hostile_checkpoint, serve, coco_root,
                                       tool_main, capsys):
    path, marker = hostile_checkpoint
    with serve(osp.dirname(path)) as url:
        for source in (path, f'{url}/{osp.basename(path)}'):
            assert tool_main('test', [
                RETINANET, source, '--data-root', coco_root, '--cfg-options',
                *DET_TINY
            ]) == 1
            assert 'weights-only loading does not allow' in \
                capsys.readouterr().err
    assert not marker.exists()


def test_segmentation_train_test(ade_root, tool_main, tmp_path, capsys):
    work_dir = str(tmp_path / 'work')
    common = ['--data-root', ade_root, '--cfg-options', *SEG_TINY]
    assert tool_main('train', [FPN, '--work-dir', work_dir, *common]) == 0
    out = tmp_path / 'label_maps'
    assert tool_main('test', [
        FPN,
        osp.join(work_dir, 'iter_2.pth'), '--work-dir', work_dir, '--out',
        str(out), *common
    ]) == 0
    assert '  mIoU: ' in capsys.readouterr().out
    assert len(list(out.glob('*.png'))) == 2


def test_amp_on_cpu(ade_root, tool_main, tmp_path, capsys):
    """--amp without a GPU trains through the CPU wrapper (which of bfloat16
    and float32 it picks is tested in tests/test_engine)."""
    assert tool_main('train', [
        FPN, '--amp', '--work-dir',
        str(tmp_path), '--data-root', ade_root, '--cfg-options', *SEG_TINY,
        'train_cfg.max_iters=1', 'train_cfg.val_interval=10'
    ]) == 0
    out = capsys.readouterr().out
    assert "type='mmconvmlp.CPUAmpOptimWrapper'" in out
    assert 'Iter(train) [1/1]' in out


@pytest.mark.parametrize('break_it,expected', [
    (lambda root: open(
        osp.join(root, 'annotations', 'instances_train2017.json'), 'w').write(
            '{'), 'instances_train2017.json: JSONDecodeError'),
    (lambda root: open(osp.join(root, 'train2017', '000000000001.jpg'), 'w').
     close(), 'img file missing or empty: '),
])
def test_bad_data_is_named_before_training(tiny_coco, tool_main, capsys,
                                           break_it, expected):
    break_it(str(tiny_coco))
    assert tool_main(
        'train',
        [RETINANET, '--data-root',
         str(tiny_coco), '--cfg-options', *DET_TINY]) == 1
    assert expected in capsys.readouterr().err


def test_missing_dataset_and_neck_mismatch(coco_root, tool_main, capsys,
                                           tmp_path):
    assert tool_main('train', [
        RETINANET, '--data-root',
        str(tmp_path / 'x'), '--cfg-options', *DET_TINY
    ]) == 1
    assert '--data-root' in capsys.readouterr().err
    assert tool_main('train', [
        RETINANET, '--data-root', coco_root, '--cfg-options', *DET_TINY,
        'model.backbone.arch=l'
    ]) == 1
    assert ('model.neck.in_channels is [64, 128, 256, 512] (should be '
            '[96, 192, 384, 768])') in capsys.readouterr().err


@pytest.mark.slow
def test_maskrcnn_amp_train_test(coco_root, tool_main, tmp_path, capsys):
    config = osp.join(REPO, 'configs', 'maskrcnn_convmlp_s_coco.py')
    common = ['--data-root', coco_root, '--cfg-options', *DET_TINY]
    assert tool_main('train',
                     [config, '--work-dir',
                      str(tmp_path), '--amp', *common]) == 0
    assert tool_main('test', [
        config,
        str(tmp_path / 'epoch_1.pth'), '--work-dir',
        str(tmp_path), *common, 'model.test_cfg.rcnn.score_thr=0.0'
    ]) == 0
    out = capsys.readouterr().out
    assert 'coco/bbox_mAP: ' in out and 'coco/segm_mAP: ' in out


@pytest.mark.slow
def test_distributed_launch_on_cpu(ade_root, tmp_path):
    """tools/dist_train.sh with 2 processes: gloo without GPUs."""
    import os
    import socket
    import subprocess
    import sys
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(('127.0.0.1', 0))
        port = str(sock.getsockname()[1])
    env = dict(
        os.environ, PYTHON=sys.executable, PORT=port, OMP_NUM_THREADS='1')
    result = subprocess.run([
        'bash', 'tools/dist_train.sh', FPN, '2', '--work-dir',
        str(tmp_path), '--data-root', ade_root, '--cfg-options', *SEG_TINY
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=600,
                            env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert 'Iter(train) [2/2]' in result.stdout
