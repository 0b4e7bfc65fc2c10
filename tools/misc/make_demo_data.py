# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write the demo datasets in the layouts of COCO 2017 and ADE20K.

    python tools/misc/make_demo_data.py [--out data/demo]
        [--dataset coco|ade20k|all] [--num-train 100] [--num-val 25]
        [--image-size 320] [--seed 0] [--overwrite]

Photographs of installed packages with a ``ball`` (red disc), ``box``
(yellow square) or ``tent`` (blue triangle) painted through the
``pycocotools`` masks of the stored polygons, never touching: exact boxes,
areas and ADE20K label maps (``wall`` behind). Refuses a folder holding
files it did not write; ``--overwrite`` replaces only its own.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

import mmengine
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from mmconvmlp.utils import output_dir

#: Who writes the demo data, in the manifests and messages.
WRITER = 'tools/misc/make_demo_data.py'
#: Object classes of the demo, in label order.
CLASSES = ('ball', 'box', 'tent')
#: Semantic classes of the ADE20K demo, in label order: the background first.
SEG_CLASSES = ('wall', ) + CLASSES
#: Index of each semantic class in ``ADE20KDataset.METAINFO['classes']``.
ADE20K_INDEX = {'wall': 0, 'box': 41, 'tent': 114, 'ball': 119}
#: Colour (RGB) that tints each object class.
_TINTS = np.array([[225, 40, 35], [235, 185, 60], [40, 90, 235]],
                  dtype=np.float32)
#: ``info`` of the demo's annotation files.
DEMO_INFO = dict(
    description='mmconvmlp demo dataset (COCO layout)',
    version='1.0',
    year=2026)
#: ``info`` of the annotation files when the caller gives none.
DEFAULT_COCO_INFO = dict(
    DEMO_INFO, description='dataset written by mmconvmlp (COCO layout)')
#: ADE20K's folder for each split name.
_ADE20K_SPLITS = {'train': 'training', 'val': 'validation'}
# Images bundled with scikit-image (the others download).
_SKIMAGE_PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera',
                   'coins', 'horse', 'hubble_deep_field',
                   'immunohistochemistry', 'retina')


def load_photos() -> List[np.ndarray]:
    """The photographs the scenes are cut from, (H, W, 3) uint8, in a fixed
    order; RuntimeError without scikit-image (most of them)."""
    try:
        from skimage import data
    except ImportError as e:
        raise RuntimeError(
            'the demo data is cut from the photographs shipped with '
            'scikit-image, which is not installed: pip install scikit-image '
            '(or pip install -e ".[demo]")') from e
    photos = [Image.fromarray(getattr(data, n)()) for n in _SKIMAGE_PHOTOS]
    try:
        import matplotlib.cbook
        path = matplotlib.cbook.get_sample_data(
            'grace_hopper.jpg', asfileobj=False)
        photos.append(Image.open(path).convert('RGB'))
    except (ImportError, OSError, ValueError):
        pass  # optional: the demo works with scikit-image's photos alone
    try:
        from sklearn.datasets import load_sample_images
        photos.extend(map(Image.fromarray, load_sample_images().images))
    except ImportError:
        pass
    return [np.asarray(p.convert('RGB')) for p in photos]  # bool, grey, RGB


def _crop(rng, photos, size):
    """A random square crop of a random photo (at least half its short
    side), resized to (size, size, 3) float32."""
    photo = photos[int(rng.integers(len(photos)))]
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
    y, x = int(rng.integers(0,
                            h - side + 1)), int(rng.integers(0, w - side + 1))
    patch = Image.fromarray(photo[y:y + side, x:x + side]).resize(
        (size, size), Image.BILINEAR)
    return np.asarray(patch, dtype=np.float32)


def _polygon(label, x0, y0, side):
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
    shade = _crop(rng, photos, img.shape[0]).mean(2) / 255
    if CLASSES[label] == 'ball':
        # A lit sphere: brighter towards the upper left.
        yy, xx = np.mgrid[:img.shape[0], :img.shape[1]].astype(np.float32)
        cx, cy, r = x + 0.35 * w, y + 0.35 * h, max(w, h) / 2
        dist = np.sqrt((xx - cx)**2 + (yy - cy)**2) / (1.4 * r)
        shade = 0.8 * np.clip(1 - dist, 0, 1) + 0.2 * shade
    fill = _TINTS[label] * (0.45 + 0.55 * shade[..., None])
    img[mask] = fill[mask]


def _scene(rng, photos, size, max_objects, min_size, max_size):
    """One image, (size, size, 3) uint8, and its objects as
    ``[(label, polygon, mask)]`` (mask: (size, size) bool)."""
    background = _crop(rng, photos, size)
    # Muted colours keep the backgrounds apart from the tinted objects.
    img = 0.3 * background + 0.7 * background.mean(2, keepdims=True)
    boxes, objects = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(100):
            side = float(np.floor(rng.uniform(min_size, max_size) * size))
            x0 = float(rng.integers(0, size - int(side)))
            y0 = float(rng.integers(0, size - int(side)))
            gap = 6  # pixels between objects, so no object hides another
            if all(x0 + side + gap <= bx or bx + bs + gap <= x0 or y0 + side +
                   gap <= by or by + bs + gap <= y0 for bx, by, bs in boxes):
                break
        else:
            continue  # the image is full
        boxes.append((x0, y0, side))
        label = int(rng.integers(len(CLASSES)))
        polygon = _polygon(label, x0, y0, side)
        # The COCO writer's rasterisation: mask, box and area agree.
        rle = mask_utils.merge(mask_utils.frPyObjects([polygon], size, size))
        mask = mask_utils.decode(rle).astype(bool)
        _paint(rng, img, label, mask, photos, mask_utils.toBbox(rle).tolist())
        objects.append((label, polygon, mask))
    return np.clip(img, 0, 255).astype(np.uint8), objects


def _splits(out_dir: str,
            offset: int,
            num_train: int = 100,
            num_val: int = 25,
            image_size: int = 320,
            seed: int = 0,
            max_objects: int = 3,
            object_size: Tuple[float, float] = (0.2, 0.45),
            overwrite: bool = False,
            photos: Optional[Sequence[np.ndarray]] = None):
    """Check the arguments, claim ``out_dir``, yield ``(split, images,
    objects)``: train from seed ``seed * 1000 + offset``, val from +1."""
    if num_train < 1 or num_val < 1:
        raise ValueError(
            f'num_train and num_val must be at least 1, got {num_train} '
            f'and {num_val}')
    if image_size < 64:
        raise ValueError(
            f'image_size must be at least 64 pixels, got {image_size}')
    if max_objects < 1:
        raise ValueError(f'max_objects must be at least 1, got {max_objects}')
    if not 0.05 <= object_size[0] <= object_size[1] <= 0.9:
        raise ValueError(
            'object_size must be (min, max) fractions of the image size with '
            f'0.05 <= min <= max <= 0.9, got {object_size}')
    with output_dir(out_dir, WRITER, overwrite=overwrite):
        photos = load_photos() if photos is None else photos  # decoded once
        splits = ('train', num_train), ('val', num_val)
        for i, (split, count) in enumerate(splits):
            rng = np.random.default_rng(seed * 1000 + offset + i)
            scenes = [
                _scene(rng, photos, image_size, max_objects, *object_size)
                for _ in range(count)
            ]
            yield split, [img for img, _ in scenes], [o for _, o in scenes]


def _check(split, images, count, what):
    """Checks before anything is written (ValueError)."""
    if split not in _ADE20K_SPLITS:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    if len(images) != count:
        raise ValueError(f'{len(images)} images but {what}')
    for i, img in enumerate(images):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'image {i} must be (H, W, 3) uint8, got '
                             f'{img.shape} {img.dtype}')


def write_coco_split(root, split, images, annotations, categories, info=None):
    """Write ``images`` ((H, W, 3) uint8) as ``{split}2017/000000000001.jpg``,
    ... under ``root``, and ``annotations/instances_{split}2017.json``: per
    object of ``annotations`` (per image, ``(category_id, [x1, y1, x2, y2,
    ...])``) its polygon, ``iscrowd=0``, and the ``bbox`` and ``area`` of its
    ``pycocotools`` mask; ``categories`` and ``info`` (default
    :data:`DEFAULT_COCO_INFO`) as given. Returns the annotation file;
    ValueError, before writing, for a split other than train/val, lengths
    that differ, a wrong image or an unknown category id."""
    _check(split, images, len(annotations),
           f'annotations for {len(annotations)}')
    known = {cat['id'] for cat in categories}
    for i, objects in enumerate(annotations):
        for category_id, _ in objects:
            if category_id not in known:
                raise ValueError(f'image {i}: category id {category_id} is '
                                 'not among the categories')
    image_infos, anns = [], []
    image_dir = osp.join(root, f'{split}2017')
    os.makedirs(image_dir, exist_ok=True)
    for image_id, (img, objects) in enumerate(zip(images, annotations), 1):
        height, width = img.shape[:2]
        file_name = f'{image_id:012d}.jpg'  # COCO's own naming
        Image.fromarray(img).save(osp.join(image_dir, file_name), quality=95)
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
    ann_file = osp.join(root, 'annotations', f'instances_{split}2017.json')
    mmengine.dump(
        dict(
            info=dict(DEFAULT_COCO_INFO if info is None else info),
            licenses=[],
            images=image_infos,
            annotations=anns,
            categories=list(categories)), ann_file)
    return ann_file


def write_ade20k_split(root, split, images, label_maps):
    """Write ``images`` and (H, W) uint8 ``label_maps`` (ADE20K's values) as
    ``root/{images,annotations}/{training,validation}/ADE_train_00000001``
    (``ADE_val_...``) ``.jpg``/``.png``, ...; returns the names. ValueError,
    before writing, for a split other than train/val, lengths that differ
    or arrays of the wrong shape or dtype."""
    _check(split, images, len(label_maps), f'{len(label_maps)} label maps')
    for i, (img, label_map) in enumerate(zip(images, label_maps)):
        if label_map.dtype != np.uint8 or label_map.shape != img.shape[:2]:
            raise ValueError(f'label map {i} must be {img.shape[:2]} uint8, '
                             f'got {label_map.shape} {label_map.dtype}')
    names = [f'ADE_{split}_{i + 1:08d}' for i in range(len(images))]
    for folder, arrays, ext in (('images', images, '.jpg'),
                                ('annotations', label_maps, '.png')):
        path = osp.join(root, folder, _ADE20K_SPLITS[split])
        os.makedirs(path, exist_ok=True)
        for name, array in zip(names, arrays):  # quality: JPEG only
            Image.fromarray(array).save(osp.join(path, name + ext), quality=95)
    return names


def generate_coco(out_dir: str = 'data/demo/coco',
                  categories: Optional[Sequence[Dict]] = None,
                  names: Sequence[str] = CLASSES,
                  info: Optional[Dict] = DEMO_INFO,
                  **kwargs) -> Dict[str, int]:
    """Write the demo dataset in the COCO layout (:func:`write_coco_split`)
    into ``out_dir``, claimed with :func:`mmconvmlp.utils.output_dir`; the
    same arguments write the same files. ``categories`` (default:
    :data:`CLASSES`, ids 1-3) are written, ``names`` are the category names
    of the classes, ``info`` the files' ``info`` (None:
    :data:`DEFAULT_COCO_INFO`). ``kwargs``: ``num_train`` (100), ``num_val``
    (25); ``image_size`` (320, >= 64): the image side in pixels; ``seed``
    (0); ``max_objects`` (3) per image; ``object_size`` ((0.2, 0.45)): the
    object side range as fractions of ``image_size``; ``overwrite`` (False):
    replace an earlier run's files; ``photos`` (:func:`load_photos`): (H, W,
    3) uint8 pictures. Returns the images and objects per split, e.g.
    ``{'train2017': 100, 'train2017_objects': 197, ...}``; raises ValueError
    (an argument out of range), RuntimeError (no scikit-image for the
    photographs) and :class:`mmconvmlp.utils.OutputError` (``out_dir`` holds
    files the project did not write, or, without ``overwrite``, its own).
    """
    categories = categories or [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(CLASSES)
    ]
    ids = [next(c['id'] for c in categories if c['name'] == n) for n in names]
    counts = {}
    for split, images, objects in _splits(out_dir, 0, **kwargs):
        annotations = [[(ids[label], polygon) for label, polygon, _ in objs]
                       for objs in objects]
        write_coco_split(out_dir, split, images, annotations, categories, info)
        counts[f'{split}2017'] = len(images)
        counts[f'{split}2017_objects'] = sum(map(len, annotations))
    return counts


def generate_ade20k(out_dir: str = 'data/demo/ade/ADEChallengeData2016',
                    **kwargs) -> Dict[str, int]:
    """Write the demo dataset in the ADE20K layout (:func:`write_ade20k_split`;
    :data:`ADE20K_INDEX`); ``kwargs`` and errors as :func:`generate_coco`'s.
    Returns ``{'training': 100, 'validation': 25}``: the images per split.
    """
    values = np.array([ADE20K_INDEX[name] + 1 for name in SEG_CLASSES],
                      dtype=np.uint8)
    counts = {}
    for split, images, objects in _splits(out_dir, 500, **kwargs):
        label_maps = []
        for img, objs in zip(images, objects):
            label_map = np.full(img.shape[:2], values[0], dtype=np.uint8)
            for label, _, mask in objs:
                label_map[mask] = values[label + 1]
            label_maps.append(label_map)
        write_ade20k_split(out_dir, split, images, label_maps)
        counts['training' if split == 'train' else 'validation'] = len(images)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Write the demo datasets (COCO and '
        'ADE20K layouts) from photographs that ship with '
        'scikit-image and matplotlib.')
    add = parser.add_argument
    add('--out',
        default='data/demo',
        help='output root (default: data/demo; COCO goes to OUT/coco, '
        'ADE20K to OUT/ade/ADEChallengeData2016)')
    add('--dataset', choices=['coco', 'ade20k', 'all'], default='all')
    add('--num-train', type=int, default=100, help='training images')
    add('--num-val', type=int, default=25, help='validation images')
    add('--image-size', type=int, default=320, help='image side, pixels')
    add('--max-objects',
        type=int,
        default=3,
        help='objects per image, 1 to this')
    add('--seed', type=int, default=0)
    add('--overwrite',
        action='store_true',
        help='replace the files an earlier run wrote (only those)')
    args = parser.parse_args(argv)
    kwargs = dict(vars(args))
    out, dataset = kwargs.pop('out'), kwargs.pop('dataset')
    try:
        if dataset in ('coco', 'all'):
            start, root = time.time(), osp.join(out, 'coco')
            counts = generate_coco(root, **kwargs)
            print(f'COCO layout in {root}: {counts["train2017"]} train images '
                  f'({counts["train2017_objects"]} objects), '
                  f'{counts["val2017"]} val images '
                  f'({counts["val2017_objects"]} objects) '
                  f'[{time.time() - start:.1f} s]')
        if dataset in ('ade20k', 'all'):
            start, root = time.time(), osp.join(out, 'ade',
                                                'ADEChallengeData2016')
            counts = generate_ade20k(root, **kwargs)
            print(f'ADE20K layout in {root}: {counts["training"]} training '
                  f'and {counts["validation"]} validation images '
                  f'[{time.time() - start:.1f} s]')
    except (ValueError, RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
