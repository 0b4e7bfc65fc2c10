# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Writers of one split in the on-disk layouts of COCO 2017 and ADE20K.

Every dataset the project generates (the demo datasets, the tiny datasets
of the tool tests) is written by these two functions, so all of them are read
by MMDetection's ``CocoDataset``/``CocoMetric`` and MMSegmentation's
``ADE20KDataset``/``IoUMetric`` exactly as the real datasets are::

    root/annotations/instances_{train,val}2017.json     write_coco_split
    root/{train,val}2017/000000000001.jpg ...
    root/images/{training,validation}/ADE_*.jpg         write_ade20k_split
    root/annotations/{training,validation}/ADE_*.png

They write into ``root`` as they find it: their callers claim it first with
:func:`mmconvmlp.utils.output_dir`, which refuses a folder holding files the
project did not write.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: ``info`` of the annotation files when the caller gives none.
DEFAULT_COCO_INFO = dict(
    description='dataset written by mmconvmlp (COCO layout)',
    version='1.0',
    year=2026)
#: ADE20K's folder for each split name.
_ADE20K_SPLITS = {'train': 'training', 'val': 'validation'}


def _check_split(split: str) -> None:
    if split not in _ADE20K_SPLITS:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")


def _check_image(index: int, img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'image {index} must be (H, W, 3) uint8, got '
                         f'{img.shape} {img.dtype}')


def _save_jpeg(img: np.ndarray, path: str) -> None:
    from PIL import Image
    Image.fromarray(img).save(path, quality=95)


def write_coco_split(root: str,
                     split: str,
                     images: Sequence[np.ndarray],
                     annotations: Sequence[Sequence[Tuple[int, List[float]]]],
                     categories: Sequence[Dict],
                     info: Optional[Dict] = None) -> str:
    """Write one split of a dataset in the COCO 2017 layout.

    The JPEG images go to ``root/{split}2017/`` as
    ``000000000001.jpg``, ... (image ids 1, 2, ... in the order given), the
    annotations to ``root/annotations/instances_{split}2017.json``. Each
    object is given as one polygon; its mask is the polygon's rasterisation
    by ``pycocotools``, and the written ``bbox`` (``[x, y, w, h]``, pixels)
    and ``area`` (pixels) are those of that mask, so box, mask and area
    always agree. Objects are not crowds (``iscrowd=0``).

    Args:
        root (str): Dataset root, the ``data_root`` of a COCO config.
        split (str): ``'train'`` or ``'val'``.
        images (Sequence[np.ndarray]): The images, (H, W, 3) uint8 RGB; the
            sizes may differ.
        annotations (Sequence[Sequence[tuple[int, list[float]]]]): For each
            image, its objects as ``(category_id, polygon)``, the polygon in
            COCO's ``[x1, y1, x2, y2, ...]`` form (pixel-edge coordinates).
        categories (Sequence[dict]): COCO categories (``id``, ``name``,
            ``supercategory``), written as given. ``CocoDataset`` selects
            categories by name, so these must include the config's classes.
        info (dict, optional): The file's ``info`` block. Defaults to
            :data:`DEFAULT_COCO_INFO`.

    Returns:
        str: Path of the annotation file.

    Raises:
        ValueError: ``split`` is not ``'train'``/``'val'``, ``images`` and
            ``annotations`` differ in length, an image is not (H, W, 3)
            uint8, or an object's category is not among ``categories``.
    """
    from pycocotools import mask as mask_utils
    _check_split(split)
    if len(images) != len(annotations):
        raise ValueError(f'{len(images)} images but annotations for '
                         f'{len(annotations)}')
    known = {cat['id'] for cat in categories}
    for i, (img, objects) in enumerate(zip(images, annotations)):
        _check_image(i, img)  # all checked before anything is written
        for category_id, _ in objects:
            if category_id not in known:
                raise ValueError(f'image {i}: category id {category_id} is '
                                 'not among the categories')
    image_dir = osp.join(root, f'{split}2017')
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    image_infos, anns = [], []
    for image_id, (img, objects) in enumerate(zip(images, annotations), 1):
        height, width = img.shape[:2]
        file_name = f'{image_id:012d}.jpg'  # COCO's own naming
        _save_jpeg(img, osp.join(image_dir, file_name))
        image_infos.append(
            dict(id=image_id, file_name=file_name, width=width, height=height))
        for category_id, polygon in objects:
            rle = mask_utils.merge(
                mask_utils.frPyObjects([polygon], height, width))
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=image_id,
                    category_id=category_id,
                    segmentation=[polygon],
                    iscrowd=0,
                    area=float(mask_utils.area(rle)),
                    bbox=[float(v) for v in mask_utils.toBbox(rle)]))
    data = dict(
        info=dict(DEFAULT_COCO_INFO if info is None else info),
        licenses=[],
        images=image_infos,
        annotations=anns,
        categories=list(categories))
    ann_file = osp.join(root, 'annotations', f'instances_{split}2017.json')
    with open(ann_file, 'w') as f:
        json.dump(data, f)
    return ann_file


def write_ade20k_split(root: str, split: str, images: Sequence[np.ndarray],
                       label_maps: Sequence[np.ndarray]) -> List[str]:
    """Write one split of a dataset in the ADE20K (ADEChallengeData2016)
    layout.

    The JPEG images go to ``root/images/{training,validation}/`` and the
    label maps (8-bit PNG) to ``root/annotations/{training,validation}/``,
    named ``ADE_train_00000001`` (``ADE_val_...`` for
    the validation split), ... in the order given. Label values are
    ADE20K's: 0 is "other" (ignored with ``reduce_zero_label=True``) and
    ``i + 1`` is class ``i`` of ``ADE20KDataset.METAINFO['classes']``.

    Args:
        root (str): Dataset root, the ``data_root`` of an ADE20K config.
        split (str): ``'train'`` (folder ``training``) or ``'val'``
            (``validation``).
        images (Sequence[np.ndarray]): The images, (H, W, 3) uint8 RGB.
        label_maps (Sequence[np.ndarray]): One (H, W) uint8 label map per
            image, of the same height and width.

    Returns:
        list[str]: The names written, without folder or extension.

    Raises:
        ValueError: ``split`` is not ``'train'``/``'val'``, the sequences
            differ in length, or an image or label map has the wrong shape
            or dtype.
    """
    from PIL import Image
    _check_split(split)
    if len(images) != len(label_maps):
        raise ValueError(f'{len(images)} images but {len(label_maps)} label '
                         'maps')
    for i, (img, label_map) in enumerate(zip(images, label_maps)):
        _check_image(i, img)  # all checked before anything is written
        if label_map.dtype != np.uint8 or label_map.shape != img.shape[:2]:
            raise ValueError(f'label map {i} must be {img.shape[:2]} uint8, '
                             f'got {label_map.shape} {label_map.dtype}')
    folder = _ADE20K_SPLITS[split]
    image_dir = osp.join(root, 'images', folder)
    label_dir = osp.join(root, 'annotations', folder)
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(label_dir, exist_ok=True)
    names = []
    for i, (img, label_map) in enumerate(zip(images, label_maps)):
        name = f'ADE_{split}_{i + 1:08d}'
        _save_jpeg(img, osp.join(image_dir, name + '.jpg'))
        Image.fromarray(label_map).save(osp.join(label_dir, name + '.png'))
        names.append(name)
    return names
