"""The shapes demo data (make demo DATA=shapes): exact COCO annotations
(pycocotools' masks against the boxes and areas written) and ADE20K label
values that are ADE20K's own classes."""
import os
import os.path as osp

import numpy as np
import pytest
import tiny_data  # (also puts tools/misc on sys.path)
from make_demo_data import (_TINTS, ADE20K_INDEX, CLASSES, SEG_CLASSES,
                            generate_ade20k, generate_coco)
from PIL import Image

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
                # The box is the mask's extent, the area its size.
                assert ann['bbox'] == tiny_data.mask_box(mask)
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
