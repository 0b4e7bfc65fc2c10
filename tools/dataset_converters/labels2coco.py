# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Instance label pictures -> the COCO layout and 0/1 label maps.

    python tools/dataset_converters/labels2coco.py --out data/cells \\
        --split train --images 'raw/train/*.tif' \\
        --labels '{dir}/../masks/{stem}.png' [--class-name cell] \\
        [--grid 1 1] [--min-area 20] [--overwrite]

Label pictures: one integer (0 background) or one colour (black, or alpha
0, background) per object. Grey pictures of any depth become 8-bit by a
1-99.8 percentile stretch; ``--grid R C`` cuts tiles, dropping cut parts
under ``--min-area`` pixels. Writes ``images/SPLIT/*.png``,
``labels/SPLIT/*.png`` (0/1) and ``annotations/instances_SPLIT.json``
(boxes, RLE masks) under ``--out``, at the source scale; refuses files it
did not write and, without ``--overwrite``, its own (docs/own_data.md).
"""
import argparse
import glob
import itertools
import os
import os.path as osp
import sys

import mmengine
import numpy as np
import pycocotools.mask as mask_util
from PIL import Image

sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone
from mmconvmlp.utils import OutputError, output_dir

WRITER = 'tools/dataset_converters/labels2coco.py'


def read_picture(path):
    """A picture as an array, (H, W) or (H, W, C); ValueError if PIL cannot
    read it."""
    try:
        with Image.open(path) as img:
            return np.asarray(img)
    except OSError as e:
        raise ValueError(f'cannot read {path}: {e}') from e


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
    """Integer map (H, W) or colour picture (H, W, 3|4) -> (H, W) int64: 0
    background, integers kept, colours 1, 2, ... by packed RGB value."""
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


def convert(pictures,
            out,
            split,
            class_name='object',
            grid=(1, 1),
            min_area=20,
            overwrite=False):
    """Write the split ``split`` (``train``, ``val``...) of ``pictures``,
    ``(file stem, picture, label picture)`` ((H, W) any depth or (H, W,
    3|4) uint8, the same H, W), under ``out``; the other arguments are the
    options of the same names. Returns the number of objects written.

    Raises:
        ValueError: A picture and its labels differ in size, or a label
            picture is neither integers nor colours.
        OutputError: ``out`` holds files the project did not write, or,
            without ``overwrite``, files of this split.
    """
    images, anns, files = [], [], {}
    for name, picture, labels in pictures:
        instances = to_instances(labels)
        if instances.shape != picture.shape[:2]:
            raise ValueError(f'{name}: picture {picture.shape[:2]} and labels '
                             f'{instances.shape} differ in size')
        rgb = to_rgb8(picture)
        (rows, cols), (height, width) = grid, instances.shape
        th, tw = height // rows, width // cols
        for r, c in itertools.product(range(rows), range(cols)):
            window = slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw)
            tile = instances[window]
            ids, counts = np.unique(tile, return_counts=True)
            small = ids[(counts < min_area) & (ids != 0)]
            tile = np.where(np.isin(tile, small), 0, tile)
            file_name = name + ('' if rows * cols == 1 else f'_r{r}c{c}')
            file_name += '.png'
            images.append(
                dict(
                    id=len(images) + 1,
                    file_name=file_name,
                    height=tile.shape[0],
                    width=tile.shape[1]))
            for label in np.unique(tile[tile > 0]):
                rle = mask_util.encode(np.asfortranarray(tile == label))
                anns.append(
                    dict(
                        id=len(anns) + 1,
                        image_id=len(images),
                        category_id=1,
                        bbox=[float(v) for v in mask_util.toBbox(rle)],
                        area=float(mask_util.area(rle)),
                        segmentation=dict(
                            size=rle['size'], counts=rle['counts'].decode()),
                        iscrowd=0,
                        source_label=int(label)))
            files[f'images/{split}/{file_name}'] = rgb[window]
            files[f'labels/{split}/{file_name}'] = (tile > 0).astype(np.uint8)
    ann_file = f'annotations/instances_{split}.json'
    with output_dir(out, WRITER, fresh=False):  # splits add to one folder
        found = sorted(n for n in [*files, ann_file]
                       if osp.lexists(osp.join(out, n)))
        if found and not overwrite:
            raise OutputError(
                f'{out}: {len(found)} file(s) of an earlier conversion, e.g. '
                f'{found[0]}; pass --overwrite to replace them (only files '
                'this project wrote are replaced)')
        for rel, array in files.items():
            os.makedirs(osp.dirname(osp.join(out, rel)), exist_ok=True)
            Image.fromarray(array).save(osp.join(out, rel))
        mmengine.dump(
            dict(
                images=images,
                annotations=anns,
                categories=[dict(id=1, name=class_name)]),
            osp.join(out, ann_file))
    return len(anns)


def run(convert, summary):
    """Print ``summary(convert())`` and return 0, or the error and 1."""
    try:
        result = convert()
    except (ValueError, OutputError) as e:
        print(e, file=sys.stderr)
        return 1
    print(summary(result))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Instance label pictures (one integer or colour per '
        'object) -> COCO boxes and RLE masks, and 0/1 label maps.')
    add = parser.add_argument
    add('--out', required=True, help='dataset root')
    add('--split', required=True, help='e.g. train, val')
    add('--images', required=True, nargs='+', help='pictures (globs)')
    add('--labels',
        required=True,
        help='label picture of each picture, with {dir} and {stem}')
    add('--class-name', default='object')
    add('--grid', type=int, nargs=2, default=(1, 1), metavar=('R', 'C'))
    add('--min-area', type=int, default=20)
    add('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    paths = sorted({p for g in args.images for p in glob.glob(g)})
    stems = [osp.splitext(osp.basename(path))[0] for path in paths]
    labels = [
        osp.normpath(args.labels.format(dir=osp.dirname(path), stem=stem))
        for path, stem in zip(paths, stems)
    ]
    missing = [(p, lb) for p, lb in zip(paths, labels) if not osp.isfile(lb)]
    if not paths or missing or len(set(stems)) != len(stems):
        print(
            f'no picture matches {args.images}' if not paths else
            f'{missing[0][0]}: its label picture {missing[0][1]} does not '
            'exist' if missing else
            'two pictures share a file name; convert them as two splits',
            file=sys.stderr)
        return 1
    return run(
        lambda: convert([(stem, read_picture(p), read_picture(lb))
                         for stem, p, lb in zip(stems, paths, labels)
                         ], args.out, args.split, args.class_name,
                        tuple(args.grid), args.min_area, args.overwrite),
        lambda count: f'{len(paths)} pictures -> {args.out} ({args.split}): '
        f'{count} objects')


if __name__ == '__main__':
    sys.exit(main())
