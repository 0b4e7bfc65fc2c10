"""tools/dataset_converters/nuclei2coco.py (through labels2coco.py) on the
stardist wheel's real nuclei, checked against the source label map counted
with numpy; the nuclei demo configs build and read the converted data."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'nuclei2coco.py')
DEMO = osp.join(REPO, 'configs', 'demo')
DET_CONFIGS = ('retinanet_convmlp_s_nuclei', 'retinanet_r50_nuclei',
               'maskrcnn_convmlp_s_nuclei')
MIN_AREA = 20


def load_converter():
    spec = importlib.util.spec_from_file_location('_nuclei2coco', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """(source folder, output folder) of one conversion."""
    converter = load_converter()
    src = converter.find_source()
    if src is None:
        pytest.skip('stardist is not installed (the set-up installs it: '
                    f'{converter.PIP_COMMAND})')
    out = str(tmp_path_factory.mktemp('data') / 'nuclei')
    assert converter.main(['--out', out]) == 0
    return src, out


def source_regions(src):
    """{file stem: (split, label map of that quadrant)} from the .tif."""
    from PIL import Image
    labels = np.asarray(Image.open(osp.join(src, 'mask2d.tif')))
    h, w = labels.shape[0] // 2, labels.shape[1] // 2
    return {
        'img2d_tl': ('train', labels[:h, :w]),
        'img2d_tr': ('train', labels[:h, w:]),
        'img2d_bl': ('train', labels[h:, :w]),
        'img2d_br': ('val', labels[h:, w:]),
    }


def test_coco_files_match_the_source_labels(converted):
    from PIL import Image
    from pycocotools.coco import COCO
    from pycocotools.mask import decode
    src, out = converted
    expected = {'train': 0, 'val': 0}
    cocos = {
        split: COCO(osp.join(out, 'annotations', f'instances_{split}.json'))
        for split in expected
    }
    for stem, (split, region) in source_regions(src).items():
        ids, counts = np.unique(region[region > 0], return_counts=True)
        kept = dict(zip(ids[counts >= MIN_AREA], counts[counts >= MIN_AREA]))
        expected[split] += len(kept)
        coco = cocos[split]
        (image, ) = [
            i for i in coco.imgs.values() if i['file_name'][:-4] == stem
        ]
        assert (image['height'], image['width']) == (256, 256)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image['id']))
        assert sorted(a['source_label'] for a in anns) == sorted(kept)
        union = np.zeros((image['height'], image['width']), bool)
        for ann in anns:
            mask = decode(ann['segmentation']).astype(bool)
            # pixel count of the label in the source map
            assert mask.sum() == ann['area'] == kept[ann['source_label']]
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [
                xs.min(),
                ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1
            ]
            union |= mask
        label_map = np.asarray(
            Image.open(osp.join(out, 'labels', split, stem + '.png')))
        assert set(np.unique(label_map)) <= {0, 1}
        assert np.array_equal(label_map == 1, union)
        picture = Image.open(osp.join(out, 'images', split, stem + '.png'))
        assert picture.mode == 'RGB' and picture.size == union.shape[::-1]
    for split, coco in cocos.items():
        assert len(coco.anns) == expected[split], split
    assert expected['train'] > 100 and expected['val'] > 20


def test_missing_source_names_the_install_command(tmp_path):
    result = subprocess.run([
        sys.executable, CONVERTER, '--src',
        str(tmp_path), '--out',
        str(tmp_path / 'out')
    ],
                            capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert 'pip install --no-deps stardist==0.9.2' in result.stderr


def build_dataset(cfg, loader, data_root):
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmdet':
        import mmdet.datasets  # noqa: F401
        from mmdet.registry import DATASETS
    else:
        import mmseg.datasets  # noqa: F401
        from mmseg.registry import DATASETS
    dataset = DATASETS.build(
        dict(cfg[loader].dataset, data_root=data_root, lazy_init=True))
    dataset.full_init()
    return dataset


@pytest.mark.parametrize('name', DET_CONFIGS + ('fpn_convmlp_s_nuclei', ))
def test_configs_read_the_converted_data(name, converted):
    cfg = Config.fromfile(osp.join(DEMO, name + '.py'))
    assert not [k for k in cfg if k.startswith('nuclei_')]
    assert cfg.model.backbone.init_cfg is None
    assert cfg.train_dataloader.dataset.data_root.rstrip('/') == 'data/nuclei'
    out = converted[1]
    train = build_dataset(cfg, 'train_dataloader', out)
    val = build_dataset(cfg, 'val_dataloader', out)
    assert (len(train), len(val)) == (3, 1)
    if name in DET_CONFIGS:
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
        assert 'max_epochs' not in cfg.train_cfg
        assert train.metainfo['classes'] == ('nucleus', )
        assert cfg.val_evaluator.ann_file.endswith('instances_val.json')
        assert len(val[0]['data_samples'].gt_instances) > 20
    else:
        assert train.metainfo['classes'] == ('background', 'nucleus')
        assert cfg.model.decode_head.num_classes == 2


def test_resnet_swap_keeps_everything_else():
    convmlp = Config.fromfile(osp.join(DEMO, 'retinanet_convmlp_s_nuclei.py'))
    r50 = Config.fromfile(osp.join(DEMO, 'retinanet_r50_nuclei.py'))
    assert r50.model.backbone.type == 'ResNet'
    assert 'arch' not in r50.model.backbone
    assert r50.model.neck.in_channels == [256, 512, 1024, 2048]
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_evaluator'):
        assert r50[key] == convmlp[key], key
    assert r50.model.bbox_head == convmlp.model.bbox_head


@pytest.mark.slow
def test_demo_trains_and_tests(converted, tmp_path):
    """A 4-iteration train and a test, run as `make demo` runs them, from a
    folder holding data/nuclei."""
    os.makedirs(tmp_path / 'data')
    os.symlink(converted[1], tmp_path / 'data' / 'nuclei')
    config = osp.join(DEMO, 'retinanet_convmlp_s_nuclei.py')
    options = [
        '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'param_scheduler.0.end=2', 'param_scheduler.1.begin=2',
        'param_scheduler.1.end=4'
    ]

    def run(*args):
        result = subprocess.run([sys.executable, *args],
                                cwd=tmp_path,
                                capture_output=True,
                                text=True,
                                timeout=900)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        return output

    run(
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', 'w',
        *options)
    checkpoint = open(tmp_path / 'w' / 'last_checkpoint').read().strip()
    output = run(
        osp.join(REPO, 'tools', 'test.py'), config, checkpoint, '--work-dir',
        'w')
    # 4 iterations from scratch: the COCO metrics, or test.py's message that
    # no box passed the score threshold
    assert 'coco/bbox_mAP_50' in output or 'predicted nothing' in output
    rows = [
        json.loads(line)
        for path in (tmp_path / 'w').glob('*/vis_data/scalars.json')
        for line in open(path)
    ]
    assert any('loss' in row for row in rows)
