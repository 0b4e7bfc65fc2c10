#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Instance label pictures -> the COCO layout and 0/1 label maps.

    python tools/dataset_converters/labels2coco.py --out data/cells \\
        --split train --images 'raw/train/*.tif' \\
        --labels '{dir}/../masks/{stem}.png' [--class-name cell] \\
        [--grid 1 1] [--min-area 20] [--overwrite]

Each picture has one label picture of the same size, with one integer per
object (a label map: PNG/TIFF, 8/16/32-bit, 0 = background) or one colour
per object (RGB, or RGBA where alpha 0 is background; black RGB is
background). ``--labels`` finds it from the picture's path: ``{dir}`` is the
picture's folder, ``{stem}`` its name without the extension.

Rules:
- Intensity: a grey picture of any bit depth becomes 8-bit by a per-picture
  percentile stretch (the 1st percentile -> 0, the 99.8th -> 255, the
  normalisation of CSBDeep/StarDist), copied into three channels; an 8-bit
  RGB(A) picture is kept as it is (alpha dropped).
- ``--grid R C`` cuts each picture into R x C tiles (sizes floor-divided);
  an object cut by a tile border keeps its part inside the tile when it has
  at least ``--min-area`` pixels, smaller parts become background.
- Objects: one per integer or colour; box, RLE mask and area from
  ``pycocotools.mask`` (``encode``, ``toBbox``, ``area``), so they agree.
  The written pictures are at the source scale: the configs set the scale.

Writes, under ``--out``::

    images/SPLIT/NAME.png                   8-bit RGB
    labels/SPLIT/NAME.png                   0 background, 1 object
    annotations/instances_SPLIT.json        COCO: bbox, RLE masks, one class

A folder holding files the project did not write stops it before anything is
written (``mmconvmlp.utils.output_dir``, which keeps the list of what was
written); so do files of an earlier conversion, which ``--overwrite``
replaces.

Used by ``nuclei2coco.py`` (StarDist's nuclei) and ``mnfinder2coco.py``
(mnfinder's nuclei), which pass arrays to :func:`convert`.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

import numpy as np
import pycocotools.mask as mask_util
from PIL import Image

sys.path.insert(0, osp.dirname(
    osp.dirname(osp.dirname(
        osp.abspath(__file__)))))  # runs from a clone without installing
from mmconvmlp.utils import OutputError, output_dir  # noqa: E402

WRITER = 'tools/dataset_converters/labels2coco.py'


def read_picture(path):
    """A picture as an array: (H, W) grey of any depth or (H, W, C)."""
    with Image.open(path) as img:
        return np.asarray(img)


def to_rgb8(image, low=1.0, high=99.8):
    """(H, W[, C]) picture -> (H, W, 3) uint8 (see the module's rules)."""
    if image.ndim == 3 and image.dtype == np.uint8 and image.shape[2] >= 3:
        return np.ascontiguousarray(image[..., :3])
    if image.ndim != 2:
        raise ValueError('expected a grey picture or 8-bit RGB(A), got '
                         f'shape {image.shape} {image.dtype}')
    lo, hi = np.percentile(image, (low, high))
    grey = (image.astype(np.float64) - lo) * 255.0 / max(hi - lo, 1e-12)
    grey = np.round(np.clip(grey, 0, 255)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def to_instances(labels):
    """Integer map (H, W) or colour picture (H, W, 3|4) -> (H, W) int64.

    0 is background, each object one id (1, 2, ... for colours in the order
    of their packed RGB value; integers are kept as they are).
    """
    if labels.ndim == 2:
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f'label map of {labels.dtype}: expected integers')
        return labels.astype(np.int64)
    if labels.ndim != 3 or labels.shape[2] not in (3, 4):
        raise ValueError(f'label picture of shape {labels.shape}: expected '
                         '(H, W) integers or (H, W, 3|4) colours')
    rgb = labels[..., :3].astype(np.int64)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    if labels.shape[2] == 4:
        packed = np.where(labels[..., 3] > 0, packed + 1, 0)
    _, ids = np.unique(packed, return_inverse=True)
    ids = ids.reshape(packed.shape)
    return ids if packed.min() == 0 else ids + 1


def drop_small(instances, min_area):
    """``instances`` with the objects under ``min_area`` pixels set to 0."""
    ids, counts = np.unique(instances, return_counts=True)
    small = ids[(counts < min_area) & (ids != 0)]
    return np.where(np.isin(instances, small), 0, instances)


def tiles(height, width, grid):
    """``(suffix, (row slice, column slice))`` of an R x C grid."""
    rows, cols = grid
    if (rows, cols) == (1, 1):
        yield '', (slice(0, height), slice(0, width))
        return
    th, tw = height // rows, width // cols
    for r in range(rows):
        for c in range(cols):
            yield f'_r{r}c{c}', (slice(r * th, (r + 1) * th),
                                 slice(c * tw, (c + 1) * tw))


def coco_annotations(instances, image_id, first_id):
    """COCO annotations of the objects of a (H, W) instance map."""
    anns = []
    for label in np.unique(instances[instances > 0]):
        rle = mask_util.encode(np.asfortranarray(instances == label))
        anns.append(
            dict(
                id=first_id + len(anns),
                image_id=image_id,
                category_id=1,
                bbox=[float(v) for v in mask_util.toBbox(rle)],
                area=float(mask_util.area(rle)),
                segmentation=dict(
                    size=rle['size'], counts=rle['counts'].decode()),
                iscrowd=0,
                source_label=int(label)))
    return anns


def claim(out, names, overwrite):
    """Refuse before writing when ``out`` holds files the project did not
    write (:func:`mmconvmlp.utils.output_dir` names them), or, without
    ``overwrite``, files of ``names`` that an earlier conversion wrote.

    Raises:
        OutputError: Naming the files found.
    """
    found = sorted(n for n in names if osp.lexists(osp.join(out, n)))
    if found and not overwrite:
        raise OutputError(
            f'{out}: {len(found)} file(s) of an earlier conversion, e.g. '
            f'{found[0]}; pass --overwrite to replace them (only files this '
            'project wrote are replaced)')


def convert(pictures,
            out,
            split,
            class_name='object',
            grid=(1, 1),
            min_area=20,
            overwrite=False):
    """Write one split; returns the number of objects written.

    Args:
        pictures (Iterable[tuple[str, np.ndarray, np.ndarray]]): ``(name,
            picture, labels)``: a file stem, the picture ((H, W) any depth
            or (H, W, 3|4) uint8) and its label picture of the same H, W.
        out (str): Dataset root.
        split (str): Split name (``train``, ``val``, ``test``...).
        class_name (str): The one category's name. Default ``'object'``.
        grid (tuple[int, int]): Tiles per picture (rows, columns).
        min_area (int): Smallest part of a cut object kept, in pixels.
        overwrite (bool): Replace files written by an earlier conversion.

    Raises:
        ValueError: A picture and its labels differ in size, or a label
            picture is neither integers nor colours.
        OutputError: See :func:`claim`.
    """
    images, anns, files = [], [], {}
    for name, picture, labels in pictures:
        instances = to_instances(labels)
        if instances.shape != picture.shape[:2]:
            raise ValueError(f'{name}: picture {picture.shape[:2]} and labels '
                             f'{instances.shape} differ in size')
        rgb = to_rgb8(picture)
        for suffix, window in tiles(*instances.shape, grid):
            tile = drop_small(instances[window], min_area)
            file_name = name + suffix + '.png'
            image_id = len(images) + 1
            images.append(
                dict(
                    id=image_id,
                    file_name=file_name,
                    height=tile.shape[0],
                    width=tile.shape[1]))
            anns += coco_annotations(tile, image_id, len(anns) + 1)
            files[f'images/{split}/{file_name}'] = rgb[window]
            files[f'labels/{split}/{file_name}'] = (tile > 0).astype(np.uint8)
    ann_file = f'annotations/instances_{split}.json'
    with output_dir(out, WRITER, fresh=False):  # splits add to one folder
        claim(out, sorted(files) + [ann_file], overwrite)
        for rel, array in files.items():
            os.makedirs(osp.dirname(osp.join(out, rel)), exist_ok=True)
            Image.fromarray(array).save(osp.join(out, rel))
        os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
        with open(osp.join(out, ann_file), 'w') as f:
            json.dump(
                dict(
                    images=images,
                    annotations=anns,
                    categories=[dict(id=1, name=class_name)]), f)
    return len(anns)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Instance label pictures (one integer or colour per '
        'object) -> COCO boxes and RLE masks, and 0/1 label maps.')
    parser.add_argument('--out', required=True, help='dataset root')
    parser.add_argument('--split', required=True, help='e.g. train, val')
    parser.add_argument(
        '--images', required=True, nargs='+', help='pictures (globs)')
    parser.add_argument(
        '--labels',
        required=True,
        help='label picture of each picture, with {dir} and {stem}')
    parser.add_argument('--class-name', default='object')
    parser.add_argument(
        '--grid', type=int, nargs=2, default=(1, 1), metavar=('R', 'C'))
    parser.add_argument('--min-area', type=int, default=20)
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    paths = sorted({p for g in args.images for p in glob.glob(g)})
    if not paths:
        print(f'no picture matches {args.images}', file=sys.stderr)
        return 1
    pairs = []
    for path in paths:
        stem = osp.splitext(osp.basename(path))[0]
        label = osp.normpath(
            args.labels.format(dir=osp.dirname(path), stem=stem))
        if not osp.isfile(label):
            print(
                f'{path}: its label picture {label} does not exist',
                file=sys.stderr)
            return 1
        pairs.append((stem, path, label))
    if len({stem for stem, _, _ in pairs}) != len(pairs):
        print(
            'two pictures share a file name; convert them as two splits',
            file=sys.stderr)
        return 1
    pictures = []
    for stem, *paths in pairs:
        arrays = []
        for path in paths:
            try:
                arrays.append(read_picture(path))
            except OSError as e:  # PIL: missing, truncated or not a picture
                print(f'cannot read {path}: {e}', file=sys.stderr)
                return 1
        pictures.append((stem, *arrays))
    try:
        count = convert(pictures, args.out, args.split, args.class_name,
                        tuple(args.grid), args.min_area, args.overwrite)
    except (ValueError, OutputError) as e:
        print(e, file=sys.stderr)
        return 1
    print(f'{len(pairs)} pictures -> {args.out} ({args.split}): '
          f'{count} objects')
    return 0


if __name__ == '__main__':
    sys.exit(main())
