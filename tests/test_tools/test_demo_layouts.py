"""The writers of the COCO 2017 and ADE20K layouts: a tiny split written and
read back with pycocotools, MMDetection's CocoDataset and MMSegmentation's
ADE20KDataset."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import tiny_data  # (also puts tools/misc on sys.path)
from make_demo_data import (DEFAULT_COCO_INFO, write_ade20k_split,
                            write_coco_split)

# Ids with a gap, as COCO's: labels must come from names, not from ids.
CATEGORIES = [
    dict(id=3, name='cat', supercategory='animal'),
    dict(id=7, name='dog', supercategory='animal')
]


def _images(*shapes):
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8) for h, w in shapes
    ]


@pytest.fixture
def coco_split(tmp_path):
    """Two images of different sizes: a rectangle and a triangle on the
    first, nothing on the second."""
    root = str(tmp_path / 'coco')
    rectangle = [10.0, 20.0, 50.0, 20.0, 50.0, 60.0, 10.0, 60.0]
    triangle = [70.0, 10.0, 90.0, 50.0, 50.0, 50.0]
    ann_file = write_coco_split(root, 'train', _images(
        (96, 128), (64, 80)), [[(3, rectangle), (7, triangle)], []],
                                CATEGORIES)
    return root, ann_file


def test_coco_split_reads_back_with_pycocotools(coco_split):
    from pycocotools.coco import COCO
    root, ann_file = coco_split
    assert ann_file == osp.join(root, 'annotations',
                                'instances_train2017.json')
    coco = COCO(ann_file)
    assert coco.loadCats(coco.getCatIds()) == CATEGORIES
    assert coco.dataset['info'] == DEFAULT_COCO_INFO
    infos = coco.loadImgs(coco.getImgIds())
    assert [(i['id'], i['file_name'], i['height'], i['width'])
            for i in infos] == [(1, '000000000001.jpg', 96, 128),
                                (2, '000000000002.jpg', 64, 80)]
    assert sorted(os.listdir(osp.join(
        root, 'train2017'))) == ['000000000001.jpg', '000000000002.jpg']
    anns = coco.loadAnns(coco.getAnnIds())
    assert [(a['id'], a['image_id'], a['category_id'], a['iscrowd'])
            for a in anns] == [(1, 1, 3, 0), (2, 1, 7, 0)]
    assert anns[0]['bbox'] == [10.0, 20.0, 40.0, 40.0]
    assert anns[0]['area'] == 1600.0
    for ann in anns:  # box and area are those of the rasterised polygon
        mask = coco.annToMask(ann).astype(bool)
        assert mask.shape == (96, 128)
        assert ann['bbox'] == tiny_data.mask_box(mask)
        assert ann['area'] == mask.sum()


def test_coco_split_reads_back_with_mmdet(coco_split):
    from mmdet.datasets import CocoDataset
    root, ann_file = coco_split
    with open(ann_file) as f:
        anns = json.load(f)['annotations']
    boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
    dataset = CocoDataset(
        data_root=root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        metainfo=dict(classes=('cat', 'dog')),
        pipeline=[])
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'train2017', '000000000001.jpg')
    assert (info['height'], info['width']) == (96, 128)
    assert [(i['bbox_label'], i['bbox'])
            for i in info['instances']] == [(0, boxes[0]), (1, boxes[1])]
    assert boxes[0] == [10.0, 20.0, 50.0, 60.0]
    assert dataset.get_data_info(1)['instances'] == []


def test_coco_split_keeps_the_other_split(coco_split):
    root, _ = coco_split
    write_coco_split(
        root,
        'val',
        _images((64, 64)), [[]],
        CATEGORIES,
        info=dict(description='mine'))
    assert sorted(os.listdir(osp.join(
        root, 'train2017'))) == ['000000000001.jpg', '000000000002.jpg']
    assert sorted(os.listdir(osp.join(root, 'annotations'))) == [
        'instances_train2017.json', 'instances_val2017.json'
    ]
    with open(osp.join(root, 'annotations', 'instances_val2017.json')) as f:
        assert json.load(f)['info'] == dict(description='mine')


def test_coco_split_rejects_bad_input(tmp_path):
    root = str(tmp_path)
    square = [0.0, 0.0, 8.0, 0.0, 8.0, 8.0, 0.0, 8.0]
    with pytest.raises(ValueError, match="'train' or 'val'"):
        write_coco_split(root, 'train2017', _images((8, 8)), [[]], CATEGORIES)
    with pytest.raises(ValueError, match='1 images but annotations for 2'):
        write_coco_split(root, 'train', _images((8, 8)), [[], []], CATEGORIES)
    with pytest.raises(ValueError, match='category id 5 is not among'):
        write_coco_split(root, 'val', _images((8, 8)), [[(5, square)]],
                         CATEGORIES)
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8'):
        write_coco_split(root, 'val', [np.zeros((8, 8), np.uint8)], [[]],
                         CATEGORIES)
    assert os.listdir(root) == []  # checked before anything was written


def test_ade20k_split_reads_back_with_mmseg(tmp_path):
    from mmseg.datasets import ADE20KDataset
    from mmseg.datasets.transforms import LoadAnnotations
    root = str(tmp_path / 'ADEChallengeData2016')
    label_maps = [
        np.full((96, 128), 1, np.uint8),
        np.zeros((64, 80), np.uint8)
    ]
    label_maps[0][10:30, 20:60] = 120  # ADE20K's 'ball' on its 'wall'
    names = write_ade20k_split(root, 'val', _images((96, 128), (64, 80)),
                               label_maps)
    assert names == ['ADE_val_00000001', 'ADE_val_00000002']
    assert sorted(os.listdir(osp.join(
        root, 'images', 'validation'))) == [n + '.jpg' for n in names]
    dataset = ADE20KDataset(
        data_root=root,
        pipeline=[],
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'))
    assert len(dataset) == 2
    # ADE20K's reduce_zero_label: 0 ("other") is ignored, value v is class v-1.
    seg = LoadAnnotations(reduce_zero_label=True)(
        dataset.get_data_info(0))['gt_seg_map']
    names_150 = ADE20KDataset.METAINFO['classes']
    assert seg.shape == (96, 128)
    assert {names_150[v] for v in np.unique(seg)} == {'wall', 'ball'}
    assert (seg[10:30, 20:60] == names_150.index('ball')).all()
    seg = LoadAnnotations(reduce_zero_label=True)(
        dataset.get_data_info(1))['gt_seg_map']
    assert (seg == 255).all()


def test_ade20k_split_folders_and_errors(tmp_path):
    root = str(tmp_path)
    write_ade20k_split(root, 'train', _images((8, 8), (8, 8)),
                       [np.zeros((8, 8), np.uint8)] * 2)
    assert sorted(os.listdir(osp.join(root, 'annotations', 'training'))) == [
        'ADE_train_00000001.png', 'ADE_train_00000002.png'
    ]
    with pytest.raises(ValueError, match="'train' or 'val'"):
        write_ade20k_split(root, 'training', [], [])
    with pytest.raises(ValueError, match='1 images but 0 label maps'):
        write_ade20k_split(root, 'val', _images((8, 8)), [])
    with pytest.raises(ValueError, match=r'label map 0 must be \(8, 8\)'):
        write_ade20k_split(root, 'val', _images((8, 8)),
                           [np.zeros((8, 9), np.uint8)])
    with pytest.raises(ValueError, match='uint8'):
        write_ade20k_split(root, 'val', _images((8, 8)),
                           [np.zeros((8, 8), np.int32)])
