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
    # weights_only=True with no allow-list: the configs' PlainCheckpointHook
    return torch.load(path, weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def retinanet_run(tmp_path_factory, coco_root, tool_main):
    """One epoch of RetinaNet-ConvMLP-S on the tiny COCO data."""
    work_dir = str(tmp_path_factory.mktemp('retinanet'))
    assert tool_main('train', [
        RETINANET, '--work-dir', work_dir, '--data-root', coco_root,
        '--cfg-options', *DET_TINY
    ]) == 0
    return work_dir


def _cat_ids(coco):
    """COCO category ids in the order of mmdet's class indices (by name)."""
    from mmdet.datasets import CocoDataset
    names = {c['name']: c['id'] for c in coco['categories']}
    return [names[n] for n in CocoDataset.METAINFO['classes']]


def _coco_stats(ann_file, results_pkl):
    """pycocotools' COCOeval (bbox) on the predictions a tool wrote:
    ``{'mAP': ..., 'mAP_50': ..., ...}`` rounded as mmdet prints them."""
    import pickle

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(ann_file)
    cat_ids = _cat_ids(gt.dataset)
    with open(results_pkl, 'rb') as f:
        results = pickle.load(f)
    dets = []
    for result in results:
        pred = result['pred_instances']
        for box, score, label in zip(pred['bboxes'].tolist(),
                                     pred['scores'].tolist(),
                                     pred['labels'].tolist()):
            x1, y1, x2, y2 = box
            dets.append(
                dict(
                    image_id=result['img_id'],
                    category_id=cat_ids[label],
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    score=score))
    evaluator = COCOeval(gt, gt.loadRes(dets), 'bbox')
    evaluator.params.maxDets = [100, 300, 1000]  # mmdet's proposal_nums
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    names = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
    return {n: round(float(v), 3) for n, v in zip(names, evaluator.stats)}


def _printed_metrics(out):
    return {
        line.split(':')[0].strip()[len('coco/bbox_'):]:
        float(line.split(':')[1])
        for line in out.splitlines() if line.startswith('  coco/bbox_')
    }


def test_test_map_equals_pycocotools_on_its_predictions(
        retinanet_run, tiny_coco, tool_main, tmp_path, capsys):
    """tools/test.py's bbox metrics against pycocotools' COCOeval on the
    predictions it wrote (--out). The model of one epoch finds nothing, so
    the held-out boxes are made from its own top three predictions per
    image, enlarged by 20 % (IoU 0.69): a second test run then scores
    between 0 and 1, which the oracle must reproduce."""
    import json
    ann = osp.join(str(tiny_coco), 'annotations', 'instances_val2017.json')
    args = [
        RETINANET,
        osp.join(retinanet_run, 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'work'), '--data-root',
        str(tiny_coco), '--cfg-options', *DET_TINY
    ]
    out, show = tmp_path / 'results.pkl', tmp_path / 'show'
    assert tool_main('test', args +
                     ['--out', str(out), '--show-dir',
                      str(show)]) == 0
    assert _printed_metrics(capsys.readouterr().out) == _coco_stats(ann, out)
    assert len(list(show.glob('*.jpg'))) == 2

    import pickle
    with open(out, 'rb') as f:
        results = pickle.load(f)
    coco = json.load(open(ann))
    cat_ids = _cat_ids(coco)
    coco['annotations'] = []
    for result in results:
        pred = result['pred_instances']
        for box, label in zip(pred['bboxes'][:3].tolist(),
                              pred['labels'][:3].tolist()):
            x1, y1, x2, y2 = box
            w, h = 1.2 * (x2 - x1), 1.2 * (y2 - y1)
            coco['annotations'].append(
                dict(
                    id=len(coco['annotations']) + 1,
                    image_id=result['img_id'],
                    category_id=cat_ids[label],
                    bbox=[(x1 + x2 - w) / 2, (y1 + y2 - h) / 2, w, h],
                    area=w * h,
                    iscrowd=0))
    with open(ann, 'w') as f:
        json.dump(coco, f)
    out2 = tmp_path / 'results2.pkl'
    assert tool_main('test', args + ['--out', str(out2)]) == 0
    printed = _printed_metrics(capsys.readouterr().out)
    expected = _coco_stats(ann, out2)
    assert 0 < expected['mAP'] < 1
    assert printed == expected


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


@pytest.fixture(scope='module')
def fpn_run(tmp_path_factory, ade_root, tool_main):
    """Two iterations of Semantic FPN-ConvMLP-S on the tiny ADE20K data."""
    work_dir = str(tmp_path_factory.mktemp('fpn'))
    assert tool_main('train', [
        FPN, '--work-dir', work_dir, '--data-root', ade_root, '--cfg-options',
        *SEG_TINY
    ]) == 0
    return work_dir


def test_segmentation_train_test(fpn_run, ade_root, tool_main, tmp_path,
                                 capsys):
    out = tmp_path / 'label_maps'
    assert tool_main('test', [
        FPN,
        osp.join(fpn_run, 'iter_2.pth'), '--work-dir',
        str(tmp_path), '--out',
        str(out), '--data-root', ade_root, '--cfg-options', *SEG_TINY
    ]) == 0
    assert '  mIoU: ' in capsys.readouterr().out
    assert len(list(out.glob('*.png'))) == 2


STOCK_APIS = """
import sys
import torch
from mmdet.apis import DetInferencer, inference_detector, init_detector
from mmseg.apis import MMSegInferencer, inference_model, init_model
det, seg, image, snippet = sys.argv[1:]


def loaded(model, path):  # every tensor of the file, none left random
    state = torch.load(path, weights_only=True)['state_dict']
    ours = model.state_dict()
    assert set(ours) == set(state), path
    assert all(torch.equal(ours[k], state[k]) for k in state), path


for path in (det, seg):  # nothing outside torch's own allow-list
    assert not torch.serialization.get_unsafe_globals_in_checkpoint(path)
det_cfg = 'configs/retinanet_convmlp_s_coco.py'
seg_cfg = 'configs/fpn_convmlp_s_ade20k.py'
inferencer = DetInferencer(det_cfg, det, device='cpu')
loaded(inferencer.model, det)
assert 'bboxes' in inferencer(image)['predictions'][0]
model = init_detector(det_cfg, det, device='cpu')
loaded(model, det)
assert 'bboxes' in inference_detector(model, image).pred_instances
inferencer = MMSegInferencer(seg_cfg, seg, device='cpu')
loaded(inferencer.model, seg)
assert inferencer(image)['predictions'].shape == (128, 128)
model = init_model(seg_cfg, seg, device='cpu')
loaded(model, seg)
assert inference_model(model, image).pred_sem_seg.shape == (128, 128)
print('stock APIs: ok')
exec(snippet, {})
print('snippet: ok')
"""


def _run(args, cwd, timeout=1200):
    """A fresh Python process (no tool of ours ran in it) in ``cwd``, the
    repository's mmconvmlp importable."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def _user_folder(tmp_path, coco_root):
    """A folder as a user has it: the configs, and a picture of the test
    set as photo.jpg."""
    import os
    import shutil
    os.symlink(osp.join(REPO, 'configs'), tmp_path / 'configs')
    shutil.copy(
        sorted((osp.join(coco_root, 'val2017', f)
                for f in os.listdir(osp.join(coco_root, 'val2017'))))[0],
        tmp_path / 'photo.jpg')
    return str(tmp_path / 'photo.jpg')


def test_stock_apis_and_the_docs_load_our_checkpoints(retinanet_run, fpn_run,
                                                      coco_root, tmp_path):
    """In a process of their own on torch's weights-only default,
    DetInferencer, init_detector, MMSegInferencer and init_model load every
    tensor of the checkpoints our training wrote, with no call of ours; then
    docs/inference.md's Python block runs verbatim there (the configs, our
    checkpoint as epoch_12.pth and photo.jpg in the folder)."""
    import os
    import re
    image = _user_folder(tmp_path, coco_root)
    os.symlink(
        osp.join(retinanet_run, 'epoch_1.pth'), tmp_path / 'epoch_12.pth')
    text = open(osp.join(REPO, 'docs', 'inference.md')).read()
    [snippet] = re.findall(r'```python\n(.*?)```', text, re.S)
    result = _run([
        '-c', STOCK_APIS,
        osp.join(retinanet_run, 'epoch_1.pth'),
        osp.join(fpn_run, 'iter_2.pth'), image, snippet
    ], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'stock APIs: ok' in result.stdout
    assert 'snippet: ok' in result.stdout
    pred = tmp_path / 'outputs' / 'preds' / 'photo.json'
    assert 'bboxes' in json.loads(pred.read_text())


@pytest.mark.slow
def test_stock_test_tools_with_our_configs(retinanet_run, fpn_run, coco_root,
                                           ade_root, tmp_path):
    """mmdet's and mmseg's own tools/test.py (shipped in their wheels under
    .mim/tools) with the project's configs on checkpoints our training
    wrote."""
    import mmdet
    import mmseg
    runs = [
        (mmdet, RETINANET, osp.join(retinanet_run, 'epoch_1.pth'), [
            f'test_dataloader.dataset.data_root={coco_root}/',
            'test_evaluator.ann_file=' +
            osp.join(coco_root, 'annotations', 'instances_val2017.json'),
            *DET_TINY
        ], 'coco/bbox_mAP: '),
        (mmseg, FPN, osp.join(fpn_run, 'iter_2.pth'),
         [f'test_dataloader.dataset.data_root={ade_root}',
          *SEG_TINY], 'mIoU: '),
    ]
    for package, config, checkpoint, options, metric in runs:
        tool = osp.join(
            osp.dirname(package.__file__), '.mim', 'tools', 'test.py')
        result = _run([
            tool, config, checkpoint, '--work-dir',
            str(tmp_path), '--cfg-options', *options
        ], str(tmp_path))
        assert result.returncode == 0, result.stderr[-3000:]
        assert metric in result.stdout


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


def test_train_logs_what_it_changes_in_the_config(retinanet_run):
    """One INFO line per change, in the run's log file."""
    # the first run's log (other tests add runs of their own)
    log = sorted(glob.glob(osp.join(retinanet_run, '*', '*.log')))[0]
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
        'config has it already)\n',
        prefix + "custom_hooks: {'type': 'mmconvmlp.PlainCheckpointHook'} "
        '(the config has it already)\n'
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
