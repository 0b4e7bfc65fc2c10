# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The tiny datasets of the tool tests: the demo scenes
(``tools/misc/make_demo_data.py``), a few of them, on colour-noise
backgrounds (no photographs, so no scikit-image), written for the paper
configs: COCO's 80 categories, ADE20K's 150 classes."""
import os.path as osp
import sys
from typing import Dict, List

sys.path.insert(
    0,
    osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools', 'misc'))

import numpy as np
from make_demo_data import CLASSES, generate_ade20k, generate_coco

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


def _synthetic_photos(seed: int) -> List[np.ndarray]:
    """Stand-ins for the photographs, without scikit-image: four (64, 64, 3)
    uint8 colour-noise images (smooth once a crop is enlarged)."""
    rng = np.random.default_rng(seed)
    return list(rng.integers(0, 256, size=(4, 64, 64, 3), dtype=np.uint8))


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


def _tiny(num_train: int = 4,
          num_val: int = 2,
          image_size: int = 128,
          seed: int = 0) -> dict:
    """The demo writers' options of a tiny set: ``num_train`` and
    ``num_val`` images of ``image_size`` pixels (>= 64), cut from
    colour-noise photographs (:func:`_synthetic_photos`) by ``seed``."""
    return dict(
        num_train=num_train,
        num_val=num_val,
        image_size=image_size,
        seed=seed,
        photos=_synthetic_photos(seed))


def generate_tiny_coco(root: str, **kwargs) -> str:
    """Write a tiny dataset in the COCO 2017 layout for the paper configs.

    The scenes of :func:`generate_coco` on colour-noise backgrounds (no
    photographs, so no scikit-image), written with all 80
    COCO categories (:func:`coco_categories`): the paper configs' 80-class
    ``CocoDataset`` and ``CocoMetric`` select and map categories by name and
    id. The objects are labelled :data:`TINY_COCO_NAMES`.

    Args:
        root (str): Dataset root.
        **kwargs: ``num_train`` (default 4), ``num_val`` (2), ``image_size``
            (128) and ``seed`` (0) of :func:`_tiny`.

    Returns:
        str: ``root``.

    Raises:
        ValueError: An argument out of range.
    """
    generate_coco(
        root,
        categories=coco_categories(),
        names=[TINY_COCO_NAMES[name] for name in CLASSES],
        info=None,
        **_tiny(**kwargs))
    return root


def generate_tiny_ade20k(root: str, **kwargs) -> str:
    """Write a tiny dataset in the ADE20K layout for the paper configs: the
    scenes of :func:`generate_ade20k` (ADE20K's label values, so the paper
    configs' 150-class ``ADE20KDataset`` reads them) on colour-noise
    backgrounds; ``kwargs`` and errors as in :func:`generate_tiny_coco`.
    Returns ``root``."""
    generate_ade20k(root, **_tiny(**kwargs))
    return root


def mask_box(mask: np.ndarray) -> List:
    """A COCO box ``[x, y, w, h]`` of a boolean mask's pixels, counted with
    numpy: its extent in pixel-edge coordinates (the tests' oracle for the
    writers' boxes)."""
    ys, xs = np.nonzero(mask)
    return [
        xs.min(),
        ys.min(),
        xs.max() + 1 - xs.min(),
        ys.max() + 1 - ys.min()
    ]
