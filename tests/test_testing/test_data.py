"""The demo and tiny datasets in the COCO and ADE20K layouts, the demo configs,
the loss-curve hook, and (slow) a shortened demo run end to end."""
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmconvmlp.testing import data as data_module
from mmconvmlp.testing.data import (_TINTS, ADE20K_INDEX, CLASSES,
                                    COCO_CATEGORY_IDS, SEG_CLASSES,
                                    TINY_COCO_NAMES, generate_ade20k,
                                    generate_coco, generate_tiny_ade20k,
                                    generate_tiny_coco)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
DEMO_CONFIGS = osp.join(CONFIGS, 'demo')
SMALL = dict(num_train=6, num_val=3, image_size=128)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('demo') / 'coco')
    generate_coco(root, **SMALL)
    return root


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('demo') / 'ADEChallengeData2016')
    generate_ade20k(root, **SMALL)
    return root


def _digest(root):
    digest = hashlib.sha1()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(folder, name), 'rb') as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path, coco_root):
    generate_coco(str(tmp_path / 'again'), **SMALL)
    generate_coco(str(tmp_path / 'other'), seed=1, **SMALL)
    assert _digest(str(tmp_path / 'again')) == _digest(coco_root)
    assert _digest(str(tmp_path / 'other')) != _digest(coco_root)


def test_regenerating_with_fewer_images_leaves_no_stale_files(tmp_path):
    root = str(tmp_path / 'ade')
    generate_ade20k(root, **SMALL)
    generate_ade20k(root, num_train=2, num_val=1, image_size=128)
    assert len(os.listdir(osp.join(root, 'images', 'training'))) == 2
    assert len(os.listdir(osp.join(root, 'annotations', 'validation'))) == 1


def test_coco_annotations_are_exact(coco_root):
    from pycocotools.coco import COCO
    for split, count in (('train2017', SMALL['num_train']),
                         ('val2017', SMALL['num_val'])):
        coco = COCO(
            osp.join(coco_root, 'annotations', f'instances_{split}.json'))
        assert [c['name']
                for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
        assert len(coco.getImgIds()) == count
        assert len(os.listdir(osp.join(coco_root, split))) == count
        for img_id in coco.getImgIds():
            info = coco.loadImgs(img_id)[0]
            img = np.asarray(
                Image.open(osp.join(coco_root, split, info['file_name'])),
                dtype=np.float32)
            assert img.shape == (info['height'], info['width'], 3)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            assert 1 <= len(anns)
            masks = [coco.annToMask(a).astype(bool) for a in anns]
            assert not np.any(np.sum(masks, axis=0) > 1), 'objects overlap'
            for ann, mask in zip(anns, masks):
                ys, xs = np.nonzero(mask)
                # The box is the mask's extent (pixel-edge coordinates), the
                # area its size.
                assert ann['bbox'] == [
                    xs.min(),
                    ys.min(),
                    xs.max() + 1 - xs.min(),
                    ys.max() + 1 - ys.min()
                ]
                assert ann['area'] == mask.sum() and ann['iscrowd'] == 0
                # The painted pixels carry the class's tint: its dominant
                # channel wins.
                tint = _TINTS[ann['category_id'] - 1]
                mean = img[mask].mean(0)
                assert np.argmax(mean) == np.argmax(tint), (ann, mean)


def test_ade20k_label_maps(ade_root):
    values = {ADE20K_INDEX[name] + 1 for name in SEG_CLASSES}
    for split, count in (('training', SMALL['num_train']), ('validation',
                                                            SMALL['num_val'])):
        images = sorted(os.listdir(osp.join(ade_root, 'images', split)))
        labels = sorted(os.listdir(osp.join(ade_root, 'annotations', split)))
        assert len(images) == count
        assert [osp.splitext(n)[0]
                for n in images] == [osp.splitext(n)[0] for n in labels]
        for name in labels:
            label = np.asarray(
                Image.open(osp.join(ade_root, 'annotations', split, name)))
            assert label.dtype == np.uint8 and label.shape == (128, 128)
            assert set(np.unique(label)) <= values
            assert (label == ADE20K_INDEX['wall'] + 1).any()
            assert len(np.unique(
                label)) >= 2  # the background and at least one object


def test_ade20k_indices_are_ade20k_classes():
    from mmseg.datasets import ADE20KDataset
    names = ADE20KDataset.METAINFO['classes']
    for name, index in ADE20K_INDEX.items():
        assert names[index] == name


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='num_train'):
        generate_coco('unused', num_train=0)
    with pytest.raises(ValueError, match='object_size'):
        generate_ade20k('unused', object_size=(0.5, 0.2))


def test_demo_configs_load_the_data_in_mmdet_and_mmseg(coco_root, ade_root):
    """The demo configs' datasets (mmdet CocoDataset, mmseg ADE20KDataset,
    unmodified) read the generated files, with the demo classes."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope
    from pycocotools.coco import COCO
    for name in ('retinanet_convmlp_s_demo', 'maskrcnn_convmlp_s_demo'):
        cfg = Config.fromfile(osp.join(DEMO_CONFIGS, name + '.py'))
        assert cfg.model.backbone.init_cfg is None
        init_default_scope('mmdet')
        dataset = DATASETS.build(
            dict(cfg.train_dataloader.dataset, data_root=coco_root))
        assert dataset.metainfo['classes'] == CLASSES
        coco = COCO(
            osp.join(coco_root, 'annotations', 'instances_train2017.json'))
        assert len(dataset) == SMALL['num_train']
        sample = dataset[0]
        instances = sample['data_samples'].gt_instances
        img_id = sample['data_samples'].img_id
        assert len(instances) == len(coco.getAnnIds(imgIds=img_id))
        if 'maskrcnn' in name:
            assert instances.masks.masks.shape[0] == len(instances)
    cfg = Config.fromfile(osp.join(DEMO_CONFIGS, 'fpn_convmlp_s_demo.py'))
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(cfg.val_dataloader.dataset, data_root=ade_root))
    assert type(dataset).__name__ == 'ADE20KDataset'
    assert dataset.metainfo['classes'] == SEG_CLASSES
    sample = dataset[0]
    seg = sample['data_samples'].gt_sem_seg.data.numpy()
    raw = np.asarray(Image.open(sample['data_samples'].seg_map_path))
    # ADE20K's values become the demo's labels 0..3 (wall, ball, box, tent).
    for label, name in enumerate(SEG_CLASSES):
        assert np.array_equal(seg[0] == label, raw == ADE20K_INDEX[name] + 1)


def test_tiny_datasets_fit_the_paper_configs_without_photographs(
        tmp_path, monkeypatch):
    """The tools' tests train the paper configs (80 COCO classes, 150 ADE20K
    classes) on the tiny datasets, which need no photographs (scikit-image)."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    def no_photos():
        raise AssertionError('the tiny datasets read no photographs')

    monkeypatch.setattr(data_module, 'load_photos', no_photos)
    coco_root = generate_tiny_coco(str(tmp_path / 'coco'))
    ade_root = generate_tiny_ade20k(str(tmp_path / 'ade'))
    assert coco_root == str(tmp_path / 'coco')

    cfg = Config.fromfile(osp.join(CONFIGS, 'retinanet_convmlp_s_coco.py'))
    init_default_scope('mmdet')
    dataset = DATASETS.build(
        dict(cfg.train_dataloader.dataset, data_root=coco_root))
    assert len(dataset) == 4  # none filtered: every image has an object
    assert len(dataset.metainfo['classes']) == 80
    ann_file = osp.join(coco_root, 'annotations', 'instances_train2017.json')
    with open(ann_file) as f:
        categories = json.load(f)['categories']
    assert [(c['id'], c['name']) for c in categories
            ] == list(zip(COCO_CATEGORY_IDS, dataset.metainfo['classes']))
    ids = {c['name']: c['id'] for c in categories}  # COCO's own ids
    assert [ids[n]
            for n in ('umbrella', 'suitcase', 'sports ball')] == [28, 33, 37]
    names = {
        dataset.metainfo['classes'][inst['bbox_label']]
        for i in range(len(dataset))
        for inst in dataset.get_data_info(i)['instances']
    }
    assert names and names <= set(TINY_COCO_NAMES.values())

    cfg = Config.fromfile(osp.join(CONFIGS, 'fpn_convmlp_s_ade20k.py'))
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(cfg.val_dataloader.dataset, data_root=ade_root))
    assert len(dataset) == 2
    assert len(dataset.metainfo['classes']) == 150
    seg = dataset[0]['data_samples'].gt_sem_seg.data.numpy()
    classes = dataset.metainfo['classes']
    assert {classes[v] for v in np.unique(seg) if v != 255} <= set(SEG_CLASSES)


def test_tiny_datasets_same_seed_same_files(tmp_path):
    for seed in (0, 0, 1):
        generate_tiny_ade20k(str(tmp_path / f'{seed}'), seed=seed)
        generate_tiny_coco(str(tmp_path / f'{seed}' / 'coco'), seed=seed)
    again = _digest(str(tmp_path / '0'))
    generate_tiny_coco(str(tmp_path / '0' / 'coco'))
    assert _digest(str(tmp_path / '0')) == again
    assert _digest(str(tmp_path / '1')) != again


# Per detection demo config: its epochs, images per training step, and whether
# it loads the instance masks. Everything else of the data and schedule is
# _base_/coco_demo.py's, the same in both.
DET_DEMOS = dict(
    retinanet_convmlp_s_demo=dict(num_epochs=16, batch_size=4, masks=False),
    maskrcnn_convmlp_s_demo=dict(num_epochs=4, batch_size=2, masks=True))


def _load_demo(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(DEMO_CONFIGS, name + '.py')).to_dict()


def _shared_part(cfg):
    """The settings the detection demos share: ``cfg`` without its epochs,
    training batch size, masks and paper-config metrics."""

    def no_masks(pipeline):
        return [{
            k: v
            for k, v in step.items() if k != 'with_mask'
        } for step in pipeline]

    shared = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = dict(cfg[key], batch_size=None)
        dataset = loader['dataset']
        loader['dataset'] = dict(
            dataset, pipeline=no_masks(dataset['pipeline']))
        shared[key] = loader
    shared['val_batch_size'] = cfg['val_dataloader']['batch_size']
    for key in ('train_pipeline', 'test_pipeline'):
        shared[key] = no_masks(cfg[key])
    for key in ('val_evaluator', 'test_evaluator'):
        shared[key] = {k: v for k, v in cfg[key].items() if k != 'metric'}
    shared['param_scheduler'] = [{
        k: v
        for k, v in s.items() if k != 'end'
    } for s in cfg['param_scheduler']]
    shared['default_hooks'] = {
        k: v
        for k, v in cfg['default_hooks'].items() if k != 'checkpoint'
    }
    for key in ('data_root', 'metainfo', 'image_scale', 'optim_wrapper',
                'auto_scale_lr', 'custom_hooks'):
        shared[key] = cfg[key]
    return shared


def test_detection_demo_configs_share_data_and_schedule():
    cfgs = {name: _load_demo(name) for name in DET_DEMOS}
    for name, cfg in cfgs.items():
        want = DET_DEMOS[name]
        assert not [k for k in cfg if k.startswith('demo_')], 'helpers left'
        assert cfg['model']['backbone']['init_cfg'] is None
        assert cfg['train_dataloader']['batch_size'] == want['batch_size']
        epochs = want['num_epochs']
        train_cfg = cfg['train_cfg']
        assert train_cfg['max_epochs'] == train_cfg['val_interval'] == epochs
        assert cfg['param_scheduler'][-1]['end'] == epochs
        # A checkpoint every epoch, the last three kept (docs/trust.md).
        checkpoint = cfg['default_hooks']['checkpoint']
        assert (checkpoint['interval'], checkpoint['max_keep_ckpts']) == (1, 3)
        for loader, pipeline in (('train_dataloader', 'train_pipeline'),
                                 ('val_dataloader', 'test_pipeline'),
                                 ('test_dataloader', 'test_pipeline')):
            steps = cfg[loader]['dataset']['pipeline']
            assert steps == cfg[pipeline]
            [load] = [s for s in steps if s['type'] == 'LoadAnnotations']
            assert load.get('with_mask', False) == want['masks']
        assert cfg['test_dataloader'] == cfg['val_dataloader']
    retinanet, maskrcnn = (_shared_part(cfg) for cfg in cfgs.values())
    assert retinanet == maskrcnn
    # The shared values themselves.
    root = 'data/demo/coco/'
    assert retinanet['data_root'] == root
    assert retinanet['metainfo']['classes'] == CLASSES
    assert retinanet['image_scale'] == (160, 160)
    assert retinanet['val_batch_size'] == 5
    for key in ('train_dataloader', 'val_dataloader'):
        loader = retinanet[key]
        assert loader['num_workers'] == 0
        assert loader['persistent_workers'] is False
        assert loader['dataset']['data_root'] == root
        assert loader['dataset']['metainfo'] == retinanet['metainfo']
    assert retinanet['val_evaluator']['ann_file'] == (
        root + 'annotations/instances_val2017.json')
    assert retinanet['optim_wrapper']['optimizer']['lr'] == 3e-4
    assert retinanet['optim_wrapper']['clip_grad'] == dict(
        max_norm=35, norm_type=2)
    assert [s['type'] for s in retinanet['param_scheduler']
            ] == ['LinearLR', 'CosineAnnealingLR']
    assert retinanet['custom_hooks'] == [
        dict(type='mmconvmlp.LossCurveHook', interval=50)
    ]
    assert retinanet['auto_scale_lr']['enable'] is False


def test_segmentation_demo_config_key_fields():
    cfg = _load_demo('fpn_convmlp_s_demo')
    root = 'data/demo/ade/ADEChallengeData2016'
    assert cfg['model']['backbone']['init_cfg'] is None
    assert cfg['model']['decode_head']['num_classes'] == len(SEG_CLASSES)
    assert cfg['model']['data_preprocessor']['size'] == (160, 160)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key]['dataset']['data_root'] == root
        assert cfg[key]['dataset']['metainfo']['classes'] == SEG_CLASSES
        assert cfg[key]['num_workers'] == 0
    assert cfg['train_cfg']['max_iters'] == 300
    assert cfg['train_cfg']['val_interval'] == 300
    assert cfg['param_scheduler'][-1]['end'] == 300
    checkpoint = cfg['default_hooks']['checkpoint']
    assert (checkpoint['interval'], checkpoint['max_keep_ckpts']) == (50, 3)


def test_loss_curve_hook_draws_the_recorded_losses(tmp_path):
    from types import SimpleNamespace

    from mmconvmlp.engine import LossCurveHook
    hook = LossCurveHook(interval=3, smooth=2)
    runner = SimpleNamespace(work_dir=str(tmp_path), iter=0, rank=0)
    for i in range(6):
        runner.iter = i
        hook.after_train_iter(
            runner, i, outputs=dict(loss=1.0 / (i + 1), loss_cls=0.5, acc=0.9))
    assert hook.history['loss'] == [1.0 / (i + 1) for i in range(6)]
    assert hook.iters['loss'] == [1, 2, 3, 4, 5, 6]
    assert 'acc' not in hook.history
    image = Image.open(tmp_path / 'loss_curve.png')
    assert image.size == (800, 500)
    with pytest.raises(ValueError, match='interval'):
        LossCurveHook(interval=-1)


def test_make_demo_data_tool_reports_bad_arguments():
    result = subprocess.run([
        sys.executable, 'tools/misc/make_demo_data.py', '--num-train', '0',
        '--out', 'unused'
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        'error: num_train and num_val must be at least')


# ----------------------------------------------------------- end to end (slow)
def _run(*args, timeout=900):
    result = subprocess.run([sys.executable, *args],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


def _losses(work_dir):
    """The training losses MMEngine logged (vis_data/scalars.json), in
    order."""
    [run] = [
        d for d in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json'))
    ]
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as f:
        return [r['loss'] for r in map(json.loads, f) if 'loss' in r]


def _untrained_checkpoint(config, path):
    """The model of ``config`` as initialised, saved as a checkpoint file."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.mark.slow
def test_shortened_retinanet_demo_learns(tmp_path):
    """generate -> tools/train.py -> tools/test.py on a smaller demo: the loss
    falls and the trained model's bbox mAP is far above the untrained
    model's."""
    data = str(tmp_path / 'data')
    work_dir = str(tmp_path / 'work')
    config = osp.join(DEMO_CONFIGS, 'retinanet_convmlp_s_demo.py')
    _run('tools/misc/make_demo_data.py', '--out', data, '--dataset', 'coco',
         '--num-train', '48', '--num-val', '12', '--image-size', '160')
    epochs = 8
    options = [
        '--cfg-options', f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}', f'param_scheduler.1.end={epochs}',
        f'default_hooks.checkpoint.interval={epochs}',
        'train_dataloader.dataset.pipeline.2.scale=(160,160)',
        'val_dataloader.dataset.pipeline.1.scale=(160,160)',
        'test_dataloader.dataset.pipeline.1.scale=(160,160)'
    ]
    _run('tools/train.py', config, '--data-root', data + '/coco/',
         '--work-dir', work_dir, *options)
    losses = _losses(work_dir)
    assert len(losses) >= 8
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.6 * first, losses
    assert osp.isfile(osp.join(work_dir, 'loss_curve.png'))

    def bbox_map(checkpoint):
        out = _run('tools/test.py', config, checkpoint, '--data-root',
                   data + '/coco/', '--work-dir', work_dir, '--show-dir',
                   str(tmp_path / 'show'), *options)
        line = [
            ln for ln in out.splitlines()
            if ln.strip().startswith('coco/bbox_mAP:')
        ]
        if not line and 'The evaluator returned no metrics' in out:
            # no box scored above test_cfg.score_thr: nothing detected
            return 0.0
        assert line, out[-3000:]
        return float(line[-1].split(':')[1])

    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        trained = bbox_map(f.read().strip())
    untrained = bbox_map(
        _untrained_checkpoint(config, str(tmp_path / 'untrained.pth')))
    assert trained >= 0.1 and trained > untrained + 0.08, (trained, untrained)
    assert len(os.listdir(tmp_path / 'show')) == 12
