# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Small demo datasets in the on-disk layouts of COCO 2017 and ADE20K.

A fresh machine has neither COCO nor ADE20K, so the demo writes its own: scenes
cut from real photographs that ship inside installed packages (scikit-image's
``skimage.data``, matplotlib's sample data, scikit-learn's sample images), with
objects of three classes pasted at known positions:

=========  ==================  ========================
class      shape               fill
=========  ==================  ========================
``ball``   disc                red, shaded like a ball
``box``    axis-aligned square  yellow-brown photo texture
``tent``   upright triangle    blue photo texture
=========  ==================  ========================

Objects never touch, so every object is fully visible and its box, instance
mask and semantic label are exact: each mask is the rasterisation
(``pycocotools``) of the polygon stored in the annotation, the image is painted
through that mask, and the box and area are those of the mask.

Layouts (``out_dir`` defaults to ``data/demo``)::

    out_dir/coco/annotations/instances_{train,val}2017.json
    out_dir/coco/{train,val}2017/000000000001.jpg ...
    out_dir/ade/ADEChallengeData2016/images/{training,validation}/ADE_*.jpg
    out_dir/ade/ADEChallengeData2016/annotations/{training,validation}/ADE_*.png

The ADE20K label maps use ADE20K's own label values (0 is "other", ignored;
``i + 1`` is class ``i`` of ``ADE20KDataset.METAINFO``): the photograph behind
the objects is ``wall``, and ``ball``, ``box`` and ``tent`` are ADE20K classes
too, so ``ADE20KDataset(metainfo=dict(classes=SEG_CLASSES))`` selects them.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: Object classes of the demo, in label order.
CLASSES = ('ball', 'box', 'tent')
#: Semantic classes of the ADE20K demo, in label order: the background first.
SEG_CLASSES = ('wall', ) + CLASSES
#: 0-based index of each semantic class in ``ADE20KDataset.METAINFO['classes']``.
ADE20K_INDEX = {'wall': 0, 'box': 41, 'tent': 114, 'ball': 119}
#: Colour (RGB) that tints each object class.
_TINTS = np.array([[225, 40, 35], [235, 185, 60], [40, 90, 235]], dtype=np.float32)

# Images bundled with scikit-image (the others download, which may be impossible).
_SKIMAGE_PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'coins', 'horse',
                   'hubble_deep_field', 'immunohistochemistry', 'retina')


def _rgb(img: np.ndarray) -> np.ndarray:
    """An image as (H, W, 3) uint8."""
    img = np.asarray(img)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def load_photos() -> List[np.ndarray]:
    """The real photographs the demo scenes are cut from.

    Returns:
        list[np.ndarray]: (H, W, 3) uint8 RGB images, always in the same order.

    Raises:
        RuntimeError: scikit-image is not installed (it provides most photos).
    """
    try:
        from skimage import data
    except ImportError as e:
        raise RuntimeError('the demo data is cut from the photographs shipped with '
                           'scikit-image, which is not installed: pip install scikit-image '
                           '(or pip install -e ".[demo]")') from e
    photos = [_rgb(getattr(data, name)()) for name in _SKIMAGE_PHOTOS]
    try:
        import matplotlib.cbook
        from PIL import Image
        path = matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
        photos.append(_rgb(Image.open(path).convert('RGB')))
    except (ImportError, OSError, ValueError):
        pass  # optional: the demo works with scikit-image's photos alone
    try:
        from sklearn.datasets import load_sample_images
        photos.extend(_rgb(img) for img in load_sample_images().images)
    except ImportError:
        pass
    return photos


def _crop(rng: np.random.Generator, photo: np.ndarray, size: int) -> np.ndarray:
    """A random square crop of ``photo`` (at least half its short side), resized
    to (size, size, 3) float32."""
    from PIL import Image
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    patch = Image.fromarray(photo[y:y + side, x:x + side]).resize((size, size),
                                                                   Image.BILINEAR)
    return np.asarray(patch, dtype=np.float32)


def _polygon(label: int, x0: float, y0: float, side: float) -> List[float]:
    """Polygon (COCO ``[x1, y1, x2, y2, ...]``, pixel-edge coordinates) of an
    object of class ``label`` inside the square (x0, y0, side)."""
    x1, y1 = x0 + side, y0 + side
    if CLASSES[label] == 'ball':
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        r = side / 2
        pts = np.stack([x0 + r + r * np.cos(t), y0 + r + r * np.sin(t)], 1)
        return [round(float(v), 2) for v in pts.reshape(-1)]
    if CLASSES[label] == 'box':
        return [x0, y0, x1, y0, x1, y1, x0, y1]
    return [x0 + side / 2, y0, x1, y1, x0, y1]  # tent


def _paint(rng, img, label, mask, photos, box):
    """Paint an object of class ``label`` into ``img`` through ``mask``."""
    x, y, w, h = box
    shade = _crop(rng, photos[int(rng.integers(len(photos)))], img.shape[0]).mean(2) / 255
    if CLASSES[label] == 'ball':
        # A lit sphere: brighter towards the upper left.
        yy, xx = np.mgrid[:img.shape[0], :img.shape[1]].astype(np.float32)
        cx, cy, r = x + 0.35 * w, y + 0.35 * h, max(w, h) / 2
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / (1.4 * r)
        shade = 0.8 * np.clip(1 - dist, 0, 1) + 0.2 * shade
    fill = _TINTS[label] * (0.45 + 0.55 * shade[..., None])
    img[mask] = fill[mask]


def _scene(rng: np.random.Generator, photos: Sequence[np.ndarray], size: int,
           max_objects: int, min_size: float, max_size: float):
    """One image and its objects: (image uint8 (size, size, 3), [(label, polygon,
    rle, mask)])."""
    from pycocotools import mask as mask_utils
    background = _crop(rng, photos[int(rng.integers(len(photos)))], size)
    # Muted colours keep the backgrounds apart from the tinted objects.
    gray = background.mean(2, keepdims=True)
    img = 0.3 * background + 0.7 * gray
    boxes, objects = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(100):
            side = float(np.floor(rng.uniform(min_size, max_size) * size))
            x0 = float(rng.integers(0, size - int(side)))
            y0 = float(rng.integers(0, size - int(side)))
            gap = 6  # pixels between objects, so no object hides another
            if all(x0 + side + gap <= bx or bx + bs + gap <= x0 or y0 + side + gap <= by
                   or by + bs + gap <= y0 for bx, by, bs in boxes):
                break
        else:
            continue  # the image is full
        boxes.append((x0, y0, side))
        label = int(rng.integers(len(CLASSES)))
        polygon = _polygon(label, x0, y0, side)
        rle = mask_utils.merge(mask_utils.frPyObjects([polygon], size, size))
        mask = mask_utils.decode(rle).astype(bool)
        _paint(rng, img, label, mask, photos, mask_utils.toBbox(rle).tolist())
        objects.append((label, polygon, rle, mask))
    return np.clip(img, 0, 255).astype(np.uint8), objects


def _scenes(photos: Sequence[np.ndarray], split_seed: int, count: int, size: int,
            max_objects: int, min_size: float, max_size: float):
    rng = np.random.default_rng(split_seed)
    for _ in range(count):
        yield _scene(rng, photos, size, max_objects, min_size, max_size)


def _fresh_dir(path: str) -> None:
    """An empty directory at ``path`` (stale files of an earlier run would be
    picked up by ADE20KDataset, which lists the directory)."""
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def _check_args(num_train: int, num_val: int, image_size: int, max_objects: int,
                object_size: Tuple[float, float]) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train and num_val must be at least 1, got {num_train} '
                         f'and {num_val}')
    if image_size < 64:
        raise ValueError(f'image_size must be at least 64 pixels, got {image_size}')
    if max_objects < 1:
        raise ValueError(f'max_objects must be at least 1, got {max_objects}')
    lo, hi = object_size
    if not 0.05 <= lo <= hi <= 0.9:
        raise ValueError('object_size must be (min, max) fractions of the image size with '
                         f'0.05 <= min <= max <= 0.9, got {object_size}')


def generate_coco(out_dir: str = 'data/demo/coco', num_train: int = 100, num_val: int = 25,
                  image_size: int = 320, seed: int = 0, max_objects: int = 3,
                  object_size: Tuple[float, float] = (0.2, 0.45)) -> Dict[str, int]:
    """Write the demo dataset in the layout of COCO 2017 object detection.

    ``out_dir/annotations/instances_{train,val}2017.json`` (boxes as
    ``[x, y, w, h]`` in pixels, polygon masks, ``iscrowd=0``, categories
    ``ball``, ``box``, ``tent`` with ids 1-3) and the JPEG images in
    ``out_dir/{train,val}2017/``. The same arguments write the same files.

    Args:
        out_dir (str): Dataset root, the ``data_root`` of a COCO config.
            Defaults to ``'data/demo/coco'``.
        num_train (int): Training images. Defaults to 100.
        num_val (int): Validation images. Defaults to 25.
        image_size (int): Side of the square images in pixels. Defaults to 320.
        seed (int): Random seed. Defaults to 0.
        max_objects (int): Objects per image, 1 to this. Defaults to 3.
        object_size (tuple[float, float]): Object side (or diameter) range as
            fractions of ``image_size``. Defaults to (0.2, 0.45).

    Returns:
        dict: Number of images and objects written per split, e.g.
        ``{'train2017': 100, 'train2017_objects': 197, ...}``.

    Raises:
        ValueError: An argument out of range.
        RuntimeError: scikit-image, which provides the photographs, is missing.
    """
    _check_args(num_train, num_val, image_size, max_objects, object_size)
    from PIL import Image
    from pycocotools import mask as mask_utils
    photos = load_photos()  # decoded once for both splits
    counts = {}
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    for split_index, (split, count) in enumerate((('train2017', num_train),
                                                 ('val2017', num_val))):
        _fresh_dir(osp.join(out_dir, split))
        images, annotations = [], []
        scenes = _scenes(photos, seed * 1000 + split_index, count, image_size, max_objects,
                         *object_size)
        for image_id, (img, objects) in enumerate(scenes, 1):
            file_name = f'{image_id:012d}.jpg'
            Image.fromarray(img).save(osp.join(out_dir, split, file_name), quality=95)
            images.append(dict(id=image_id, file_name=file_name, width=image_size,
                               height=image_size))
            for label, polygon, rle, _ in objects:
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id, category_id=label + 1,
                    segmentation=[polygon], iscrowd=0,
                    area=float(mask_utils.area(rle)),
                    bbox=[float(v) for v in mask_utils.toBbox(rle)]))
        data = dict(
            info=dict(description='mmconvmlp demo dataset (COCO layout)', version='1.0',
                      year=2026),
            licenses=[],
            images=images,
            annotations=annotations,
            categories=[dict(id=i + 1, name=name, supercategory='shape')
                        for i, name in enumerate(CLASSES)])
        with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(data, f)
        counts[split], counts[f'{split}_objects'] = len(images), len(annotations)
    return counts


def generate_ade20k(out_dir: str = 'data/demo/ade/ADEChallengeData2016',
                    num_train: int = 100, num_val: int = 25, image_size: int = 320,
                    seed: int = 0, max_objects: int = 3,
                    object_size: Tuple[float, float] = (0.2, 0.45)) -> Dict[str, int]:
    """Write the demo dataset in the layout of ADE20K (ADEChallengeData2016).

    JPEG images in ``out_dir/images/{training,validation}/`` and label maps
    (8-bit PNG, same names) in ``out_dir/annotations/{training,validation}/``
    with ADE20K's label values: every pixel of the photograph behind the
    objects is ``wall`` and the objects are ``ball``, ``box`` and ``tent``
    (see :data:`ADE20K_INDEX`). The same arguments write the same files.

    Args:
        out_dir (str): Dataset root, the ``data_root`` of an ADE20K config.
            Defaults to ``'data/demo/ade/ADEChallengeData2016'``.
        num_train, num_val, image_size, seed, max_objects, object_size: As in
            :func:`generate_coco`.

    Returns:
        dict: Number of images written per split.

    Raises:
        ValueError: An argument out of range.
        RuntimeError: scikit-image, which provides the photographs, is missing.
    """
    _check_args(num_train, num_val, image_size, max_objects, object_size)
    from PIL import Image
    values = np.array([ADE20K_INDEX[name] + 1 for name in SEG_CLASSES], dtype=np.uint8)
    photos = load_photos()  # decoded once for both splits
    counts = {}
    for split_index, (split, count) in enumerate((('training', num_train),
                                                 ('validation', num_val))):
        image_dir = osp.join(out_dir, 'images', split)
        label_dir = osp.join(out_dir, 'annotations', split)
        _fresh_dir(image_dir)
        _fresh_dir(label_dir)
        scenes = _scenes(photos, seed * 1000 + 500 + split_index, count, image_size,
                         max_objects, *object_size)
        for i, (img, objects) in enumerate(scenes, 1):
            label_map = np.full(img.shape[:2], values[0], dtype=np.uint8)
            for label, _, _, mask in objects:
                label_map[mask] = values[label + 1]
            name = f'ADE_{"train" if split == "training" else "val"}_{i:08d}'
            Image.fromarray(img).save(osp.join(image_dir, name + '.jpg'), quality=95)
            Image.fromarray(label_map).save(osp.join(label_dir, name + '.png'))
        counts[split] = count
    return counts
