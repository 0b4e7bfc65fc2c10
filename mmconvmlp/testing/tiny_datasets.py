"""Tiny datasets in the on-disk layouts of COCO and ADE20K, written with plain Python.

Each image shows a few filled rectangles on a noisy background; the annotations
describe exactly those rectangles (boxes, polygons, label maps), so the files are
valid for MMDetection's ``CocoDataset``/``CocoMetric`` and MMSegmentation's
``ADE20KDataset``/``IoUMetric``.
"""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

# (COCO category id, name) of the objects drawn; names must be COCO's (CocoDataset
# selects categories by name). The files list all 80 categories, as COCO's do:
# CocoMetric maps the model's 80 labels onto the file's categories.
COCO_CATEGORIES = [(1, 'person'), (3, 'car'), (18, 'dog')]


def _coco_categories():
    from mmdet.datasets import CocoDataset
    names = CocoDataset.METAINFO['classes']
    # COCO's ids run 1..90 with gaps; those of the drawn classes are the real ones.
    fixed = dict((name, cid) for cid, name in COCO_CATEGORIES)
    free = iter(i for i in range(1, 91) if i not in fixed.values())
    return [dict(id=fixed[n] if n in fixed else next(free), name=n, supercategory='none')
            for n in names]


def _rectangles(rng, width, height, count):
    boxes = []
    for _ in range(count):
        w = int(rng.integers(width // 5, width // 2))
        h = int(rng.integers(height // 5, height // 2))
        x = int(rng.integers(0, width - w))
        y = int(rng.integers(0, height - h))
        boxes.append((x, y, w, h))
    return boxes


def _image(rng, width, height):
    return rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)


def make_coco(root, num_train=4, num_val=2, size=(128, 96), seed=0):
    """Write ``root/{train2017,val2017}/*.jpg`` and
    ``root/annotations/instances_{train,val}2017.json``.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    ann_id = 1
    for split, count in (('train2017', num_train), ('val2017', num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for i in range(count):
            image_id = i + 1
            img = _image(rng, width, height)
            for x, y, w, h in _rectangles(rng, width, height, 2):
                k = int(rng.integers(len(COCO_CATEGORIES)))
                cat_id = COCO_CATEGORIES[k][0]
                img[y:y + h, x:x + w] = 80 + 50 * k
                annotations.append(dict(
                    id=ann_id, image_id=image_id, category_id=cat_id, iscrowd=0,
                    bbox=[x, y, w, h], area=float(w * h),
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
                ann_id += 1
            name = f'{split}_{image_id:06d}.jpg'
            Image.fromarray(img).save(osp.join(root, split, name), quality=95)
            images.append(dict(id=image_id, file_name=name, width=width, height=height))
        data = dict(images=images, annotations=annotations, categories=_coco_categories())
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(data, f)
    return root


def make_ade20k(root, num_train=4, num_val=2, size=(128, 96), seed=0):
    """Write ``root/images/{training,validation}/*.jpg`` and
    ``root/annotations/{training,validation}/*.png`` (ADEChallengeData2016 layout:
    label 0 is "other", 1..150 the classes).

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    for split, count in (('training', num_train), ('validation', num_val)):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i in range(count):
            img = _image(rng, width, height)
            label = np.ones((height, width), dtype=np.uint8)  # class 1 ("wall") everywhere
            for x, y, w, h in _rectangles(rng, width, height, 3):
                cls = int(rng.choice([3, 5, 13]))
                img[y:y + h, x:x + w] = 40 + 12 * cls
                label[y:y + h, x:x + w] = cls
            label[:2] = 0  # a strip of "other", ignored in training and evaluation
            name = f'ADE_{split[:5]}_{i + 1:08d}'
            Image.fromarray(img).save(osp.join(root, 'images', split, name + '.jpg'),
                                      quality=95)
            Image.fromarray(label).save(osp.join(root, 'annotations', split, name + '.png'))
    return root
