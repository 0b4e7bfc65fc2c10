# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The tiny datasets of the tool tests: the demo scenes
(``tools/misc/demo_shapes.py``), a few of them, on colour-noise backgrounds
(no photographs, so no scikit-image), written for the paper configs: COCO's
80 categories, ADE20K's 150 classes."""
import os.path as osp
import sys
from typing import Dict, List

sys.path.insert(
    0,
    osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools', 'misc'))

from demo_shapes import CLASSES, _synthetic_photos, _write_ade20k, _write_coco

#: COCO 2017's category ids in the order of its 80 classes (1..90, gaps kept).
COCO_CATEGORY_IDS = tuple(
    i for i in range(1, 91)
    if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83))
#: COCO category of each demo class in :func:`generate_tiny_coco`.
TINY_COCO_NAMES = {
    'ball': 'sports ball',
    'box': 'suitcase',
    'tent': 'umbrella'
}


def coco_categories() -> List[Dict]:
    """COCO 2017's 80 categories: MMDetection's class names with COCO's ids.

    Returns:
        list[dict]: ``dict(id, name, supercategory='none')`` in the order of
        ``CocoDataset.METAINFO['classes']``; ids run 1..90 with COCO's gaps.
    """
    from mmdet.datasets import CocoDataset
    names = CocoDataset.METAINFO['classes']
    return [
        dict(id=cat_id, name=name, supercategory='none')
        for cat_id, name in zip(COCO_CATEGORY_IDS, names)
    ]


def generate_tiny_coco(root: str,
                       num_train: int = 4,
                       num_val: int = 2,
                       image_size: int = 128,
                       seed: int = 0) -> str:
    """Write a tiny dataset in the COCO 2017 layout for the paper configs.

    The scenes of :func:`generate_coco` on colour-noise backgrounds (no
    photographs, so no scikit-image), written with all 80
    COCO categories (:func:`coco_categories`): the paper configs' 80-class
    ``CocoDataset`` and ``CocoMetric`` select and map categories by name and
    id. The objects are labelled :data:`TINY_COCO_NAMES`.

    Args:
        root (str): Dataset root.
        num_train (int): Training images. Defaults to 4.
        num_val (int): Validation images. Defaults to 2.
        image_size (int): Side of the square images in pixels (>= 64).
            Defaults to 128.
        seed (int): Random seed. Defaults to 0.

    Returns:
        str: ``root``.

    Raises:
        ValueError: An argument out of range.
    """
    categories = coco_categories()
    ids = {cat['name']: cat['id'] for cat in categories}
    _write_coco(
        root,
        categories, [ids[TINY_COCO_NAMES[name]] for name in CLASSES],
        photos=_synthetic_photos(seed),
        seed=seed,
        info=None,
        overwrite=False,
        num_train=num_train,
        num_val=num_val,
        image_size=image_size,
        max_objects=3,
        object_size=(0.2, 0.45))
    return root


def generate_tiny_ade20k(root: str,
                         num_train: int = 4,
                         num_val: int = 2,
                         image_size: int = 128,
                         seed: int = 0) -> str:
    """Write a tiny dataset in the ADE20K layout for the paper configs.

    The scenes of :func:`generate_ade20k` (ADE20K's label values, so the
    paper configs' 150-class ``ADE20KDataset`` reads them) on colour-noise
    backgrounds: no photographs, so no scikit-image.

    Args:
        root, num_train, num_val, image_size, seed: As in
            :func:`generate_tiny_coco`.

    Returns:
        str: ``root``.

    Raises:
        ValueError: An argument out of range.
    """
    _write_ade20k(
        root,
        photos=_synthetic_photos(seed),
        seed=seed,
        overwrite=False,
        num_train=num_train,
        num_val=num_val,
        image_size=image_size,
        max_objects=3,
        object_size=(0.2, 0.45))
    return root
