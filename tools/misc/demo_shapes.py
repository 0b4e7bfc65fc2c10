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

The files are written by ``demo_layouts.py`` (beside this file), the one
writer of both layouts, into a folder claimed with
:func:`mmconvmlp.utils.output_dir`: a folder holding files the project did
not write is refused, and ``overwrite=True`` replaces only the files of an
earlier run. Layouts of the demo (``out_dir`` defaults to ``data/demo``)::

    out_dir/coco/annotations/instances_{train,val}2017.json
    out_dir/coco/{train,val}2017/000000000001.jpg ...
    out_dir/ade/ADEChallengeData2016/images/{training,validation}/ADE_*.jpg
    out_dir/ade/ADEChallengeData2016/annotations/{training,validation}/ADE_*.png

The ADE20K label maps use ADE20K's own label values (0 is "other", ignored;
``i + 1`` is class ``i`` of ``ADE20KDataset.METAINFO``): the photograph behind
the objects is ``wall``, and ``ball``, ``box`` and ``tent`` are ADE20K classes
too, so ``ADE20KDataset(metainfo=dict(classes=SEG_CLASSES))`` selects them.

The tiny datasets of the tool tests (``tests/tiny_data.py``) are the same
scenes, a few of them, on colour-noise backgrounds.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from demo_layouts import write_ade20k_split, write_coco_split

from mmconvmlp.utils import output_dir

#: Who writes the demo data, in the manifests and messages.
WRITER = 'tools/misc/make_demo_data.py'

#: Object classes of the demo, in label order.
CLASSES = ('ball', 'box', 'tent')
#: Semantic classes of the ADE20K demo, in label order: the background first.
SEG_CLASSES = ('wall', ) + CLASSES
#: 0-based index of each semantic class in
#: ``ADE20KDataset.METAINFO['classes']``.
ADE20K_INDEX = {'wall': 0, 'box': 41, 'tent': 114, 'ball': 119}
#: Colour (RGB) that tints each object class.
_TINTS = np.array([[225, 40, 35], [235, 185, 60], [40, 90, 235]],
                  dtype=np.float32)

# Images bundled with scikit-image (the others download, which may be
# impossible).
_SKIMAGE_PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera',
                   'coins', 'horse', 'hubble_deep_field',
                   'immunohistochemistry', 'retina')


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
        raise RuntimeError(
            'the demo data is cut from the photographs shipped with '
            'scikit-image, which is not installed: pip install scikit-image '
            '(or pip install -e ".[demo]")') from e
    photos = [_rgb(getattr(data, name)()) for name in _SKIMAGE_PHOTOS]
    try:
        import matplotlib.cbook
        from PIL import Image
        path = matplotlib.cbook.get_sample_data(
            'grace_hopper.jpg', asfileobj=False)
        photos.append(_rgb(Image.open(path).convert('RGB')))
    except (ImportError, OSError, ValueError):
        pass  # optional: the demo works with scikit-image's photos alone
    try:
        from sklearn.datasets import load_sample_images
        photos.extend(_rgb(img) for img in load_sample_images().images)
    except ImportError:
        pass
    return photos


def _crop(rng: np.random.Generator, photo: np.ndarray,
          size: int) -> np.ndarray:
    """A random square crop of ``photo`` (at least half its short side),
    resized to (size, size, 3) float32."""
    from PIL import Image
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
    y, x = int(rng.integers(0,
                            h - side + 1)), int(rng.integers(0, w - side + 1))
    patch = Image.fromarray(photo[y:y + side, x:x + side]).resize(
        (size, size), Image.BILINEAR)
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
    shade = _crop(rng, photos[int(rng.integers(len(photos)))],
                  img.shape[0]).mean(2) / 255
    if CLASSES[label] == 'ball':
        # A lit sphere: brighter towards the upper left.
        yy, xx = np.mgrid[:img.shape[0], :img.shape[1]].astype(np.float32)
        cx, cy, r = x + 0.35 * w, y + 0.35 * h, max(w, h) / 2
        dist = np.sqrt((xx - cx)**2 + (yy - cy)**2) / (1.4 * r)
        shade = 0.8 * np.clip(1 - dist, 0, 1) + 0.2 * shade
    fill = _TINTS[label] * (0.45 + 0.55 * shade[..., None])
    img[mask] = fill[mask]


def _scene(rng: np.random.Generator, photos: Sequence[np.ndarray], size: int,
           max_objects: int, min_size: float, max_size: float):
    """One image and its objects.

    Returns:
        tuple: The image, (size, size, 3) uint8, and its objects as
        ``[(label, polygon, mask)]`` (mask: (size, size) bool).
    """
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


def _scenes(photos: Sequence[np.ndarray], split_seed: int, count: int,
            size: int, max_objects: int, min_size: float, max_size: float):
    rng = np.random.default_rng(split_seed)
    for _ in range(count):
        yield _scene(rng, photos, size, max_objects, min_size, max_size)


def _synthetic_photos(seed: int) -> List[np.ndarray]:
    """Stand-ins for the photographs, which need scikit-image: four
    (64, 64, 3) uint8 colour-noise images (smooth once a crop is enlarged to
    the image size)."""
    rng = np.random.default_rng(seed)
    return list(rng.integers(0, 256, size=(4, 64, 64, 3), dtype=np.uint8))


def _check_args(num_train: int, num_val: int, image_size: int,
                max_objects: int, object_size: Tuple[float, float]) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(
            f'num_train and num_val must be at least 1, got {num_train} '
            f'and {num_val}')
    if image_size < 64:
        raise ValueError(
            f'image_size must be at least 64 pixels, got {image_size}')
    if max_objects < 1:
        raise ValueError(f'max_objects must be at least 1, got {max_objects}')
    lo, hi = object_size
    if not 0.05 <= lo <= hi <= 0.9:
        raise ValueError(
            'object_size must be (min, max) fractions of the image size with '
            f'0.05 <= min <= max <= 0.9, got {object_size}')


def _split_scenes(photos: Optional[Sequence[np.ndarray]], seed: int,
                  num_train: int, num_val: int, image_size: int,
                  max_objects: int, object_size: Tuple[float, float]):
    """``(split, scenes)`` for ``'train'``, then ``'val'``.

    The scenes are cut from ``photos`` (default: :func:`load_photos`). Split
    ``i`` draws from seed ``seed + i``: datasets that should not share scenes
    pass seeds far apart.
    """
    photos = load_photos() if photos is None else photos  # decoded once
    splits = (('train', num_train), ('val', num_val))
    for index, (split, count) in enumerate(splits):
        yield split, _scenes(photos, seed + index, count, image_size,
                             max_objects, *object_size)


def _write_coco(out_dir: str, categories: Sequence[Dict],
                category_ids: Sequence[int],
                photos: Optional[Sequence[np.ndarray]], seed: int,
                info: Optional[Dict], overwrite: bool,
                **kwargs) -> Dict[str, int]:
    """Scenes in the COCO layout, demo class ``i`` written as category
    ``category_ids[i]``; ``kwargs`` as in :func:`generate_coco`."""
    _check_args(**kwargs)
    counts = {}
    with output_dir(out_dir, WRITER, overwrite=overwrite):
        for split, scenes in _split_scenes(photos, seed * 1000, **kwargs):
            images, annotations = [], []
            for img, objects in scenes:
                images.append(img)
                annotations.append([(category_ids[label], polygon)
                                    for label, polygon, _ in objects])
            write_coco_split(
                out_dir, split, images, annotations, categories, info=info)
            counts[f'{split}2017'] = len(images)
            counts[f'{split}2017_objects'] = sum(map(len, annotations))
    return counts


def _write_ade20k(out_dir: str, photos: Optional[Sequence[np.ndarray]],
                  seed: int, overwrite: bool, **kwargs) -> Dict[str, int]:
    """Scenes in the ADE20K layout; ``kwargs`` as in :func:`generate_coco`."""
    _check_args(**kwargs)
    values = np.array([ADE20K_INDEX[name] + 1 for name in SEG_CLASSES],
                      dtype=np.uint8)
    counts = {}
    with output_dir(out_dir, WRITER, overwrite=overwrite):
        for split, scenes in _split_scenes(photos, seed * 1000 + 500,
                                           **kwargs):
            images, label_maps = [], []
            for img, objects in scenes:
                label_map = np.full(img.shape[:2], values[0], dtype=np.uint8)
                for label, _, mask in objects:
                    label_map[mask] = values[label + 1]
                images.append(img)
                label_maps.append(label_map)
            write_ade20k_split(out_dir, split, images, label_maps)
            counts['training' if split == 'train' else 'validation'] = len(
                images)
    return counts


def generate_coco(out_dir: str = 'data/demo/coco',
                  num_train: int = 100,
                  num_val: int = 25,
                  image_size: int = 320,
                  seed: int = 0,
                  max_objects: int = 3,
                  object_size: Tuple[float, float] = (0.2, 0.45),
                  overwrite: bool = False) -> Dict[str, int]:
    """Write the demo dataset in the layout of COCO 2017 object detection.

    ``out_dir/annotations/instances_{train,val}2017.json`` (boxes as
    ``[x, y, w, h]`` in pixels, polygon masks, ``iscrowd=0``, categories
    ``ball``, ``box``, ``tent`` with ids 1-3) and the JPEG images in
    ``out_dir/{train,val}2017/`` (see :func:`write_coco_split`). The same
    arguments write the same files.

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
        overwrite (bool): Replace the files an earlier run wrote to
            ``out_dir`` (only those). Defaults to False.

    Returns:
        dict: Number of images and objects written per split, e.g.
        ``{'train2017': 100, 'train2017_objects': 197, ...}``.

    Raises:
        ValueError: An argument out of range.
        RuntimeError: scikit-image, which provides the photographs, is missing.
        mmconvmlp.utils.OutputError: ``out_dir`` holds files the project did
            not write, or, without ``overwrite``, those of an earlier run.
    """
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(CLASSES)
    ]
    info = dict(
        description='mmconvmlp demo dataset (COCO layout)',
        version='1.0',
        year=2026)
    return _write_coco(
        out_dir,
        categories, [cat['id'] for cat in categories],
        photos=None,
        seed=seed,
        info=info,
        overwrite=overwrite,
        num_train=num_train,
        num_val=num_val,
        image_size=image_size,
        max_objects=max_objects,
        object_size=object_size)


def generate_ade20k(out_dir: str = 'data/demo/ade/ADEChallengeData2016',
                    num_train: int = 100,
                    num_val: int = 25,
                    image_size: int = 320,
                    seed: int = 0,
                    max_objects: int = 3,
                    object_size: Tuple[float, float] = (0.2, 0.45),
                    overwrite: bool = False) -> Dict[str, int]:
    """Write the demo dataset in the layout of ADE20K (ADEChallengeData2016).

    JPEG images in ``out_dir/images/{training,validation}/`` and label maps
    (8-bit PNG, same names) in ``out_dir/annotations/{training,validation}/``
    (see :func:`write_ade20k_split`) with ADE20K's label values: every pixel
    of the photograph behind the objects is ``wall`` and the objects are
    ``ball``, ``box`` and ``tent`` (see :data:`ADE20K_INDEX`). The same
    arguments write the same files.

    Args:
        out_dir (str): Dataset root, the ``data_root`` of an ADE20K config.
            Defaults to ``'data/demo/ade/ADEChallengeData2016'``.
        num_train, num_val, image_size, seed, max_objects, object_size,
            overwrite: As in :func:`generate_coco`.

    Returns:
        dict: Number of images written per split
        (``{'training': 100, 'validation': 25}``).

    Raises:
        ValueError: An argument out of range.
        RuntimeError: scikit-image, which provides the photographs, is missing.
        mmconvmlp.utils.OutputError: ``out_dir`` holds files the project did
            not write, or, without ``overwrite``, those of an earlier run.
    """
    return _write_ade20k(
        out_dir,
        photos=None,
        seed=seed,
        overwrite=overwrite,
        num_train=num_train,
        num_val=num_val,
        image_size=image_size,
        max_objects=max_objects,
        object_size=object_size)
