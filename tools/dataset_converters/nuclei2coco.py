#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write the stardist example nuclei as a COCO dataset and label maps.

    python tools/dataset_converters/nuclei2coco.py [--out data/nuclei]
        [--src DIR] [--scale 2] [--min-area 20] [--overwrite]

Source: ``img2d.tif`` (512x512 uint16 fluorescence image of cell nuclei) and
``mask2d.tif`` (its hand-made instance labels, 125 nuclei, 0 = background)
from the stardist 0.9.2 wheel (``stardist/data/images/``), BSD-3-Clause,
by Uwe Schmidt, Martin Weigert et al. ("Cell Detection with Star-convex
Polygons", MICCAI 2018). Found with ``importlib`` (stardist is not imported);
install it with ``pip install --no-deps stardist==0.9.2`` or pass ``--src``.

Rules:
- Split: the four 256x256 quadrants; top-left, top-right and bottom-left
  train, bottom-right is held out (``val``).
- Nuclei cut by a quadrant border keep their part inside the quadrant when
  it has at least ``--min-area`` pixels at the source scale; smaller parts
  are dropped from the annotations and count as background in the maps.
- Intensity: 8-bit = round(255 * value / maximum of the whole image), grey
  copied into three channels (RGB PNG).
- Scale: ``--scale`` times larger (default 2: nuclei median 50 px across),
  the image bilinearly, the labels by pixel repetition (exact).

Writes ``OUT/images/{train,val}/*.png``, ``OUT/annotations/instances_{train,
val}.json`` (boxes, RLE masks) and ``OUT/labels/{train,val}/*.png`` (0/1).
An ``OUT`` holding files this tool did not write is refused, naming them;
``--overwrite`` replaces the files of an earlier run, and only those.
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import sys

import numpy as np
import pycocotools.mask as mask_util
from PIL import Image

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmconvmlp.utils import OutputError, output_dir

PIP_COMMAND = 'pip install --no-deps stardist==0.9.2'
QUADRANTS = {  # name: (split, row, column)
    'img2d_tl': ('train', 0, 0),
    'img2d_tr': ('train', 0, 1),
    'img2d_bl': ('train', 1, 0),
    'img2d_br': ('val', 1, 1),
}


def find_source(src=None):
    """The folder holding img2d.tif and mask2d.tif, or None."""
    if src is None:
        spec = importlib.util.find_spec('stardist')
        if spec is None or not spec.submodule_search_locations:
            return None
        src = osp.join(
            list(spec.submodule_search_locations)[0], 'data', 'images')
    ok = all(osp.isfile(osp.join(src, f)) for f in ('img2d.tif', 'mask2d.tif'))
    return src if ok else None


def tile_labels(labels, min_area):
    """``labels`` with the instances under ``min_area`` pixels set to 0."""
    ids, counts = np.unique(labels, return_counts=True)
    small = ids[(counts < min_area) & (ids != 0)]
    return np.where(np.isin(labels, small), 0, labels)


def convert(src, out, scale=2, min_area=20):
    """Write the dataset; returns {split: number of instances}."""
    image = np.asarray(Image.open(osp.join(src, 'img2d.tif')), np.float64)
    labels = np.asarray(Image.open(osp.join(src, 'mask2d.tif')))
    image8 = np.round(image * 255.0 / image.max()).astype(np.uint8)
    half = image.shape[0] // 2, image.shape[1] // 2
    category = [dict(id=1, name='nucleus')]
    coco = {k: dict(images=[], annotations=[]) for k in ('train', 'val')}
    for name, (split, row, col) in QUADRANTS.items():
        window = (slice(row * half[0], (row + 1) * half[0]),
                  slice(col * half[1], (col + 1) * half[1]))
        tile = tile_labels(labels[window], min_area)
        tile = tile.repeat(scale, 0).repeat(scale, 1)
        grey = Image.fromarray(image8[window]).resize(
            (tile.shape[1], tile.shape[0]), Image.BILINEAR)
        for folder in ('images', 'labels'):
            os.makedirs(osp.join(out, folder, split), exist_ok=True)
        grey.convert('RGB').save(osp.join(out, 'images', split, name + '.png'))
        Image.fromarray((tile > 0).astype(np.uint8)).save(
            osp.join(out, 'labels', split, name + '.png'))
        data, image_id = coco[split], list(QUADRANTS).index(name) + 1
        data['images'].append(
            dict(
                id=image_id,
                file_name=name + '.png',
                height=tile.shape[0],
                width=tile.shape[1]))
        for label in np.unique(tile[tile > 0]):
            rle = mask_util.encode(np.asfortranarray(tile == label))
            data['annotations'].append(
                dict(
                    id=sum(len(d['annotations']) for d in coco.values()) + 1,
                    image_id=image_id,
                    category_id=1,
                    bbox=[float(v) for v in mask_util.toBbox(rle)],
                    area=float(mask_util.area(rle)),
                    segmentation=dict(
                        size=rle['size'], counts=rle['counts'].decode()),
                    iscrowd=0,
                    source_label=int(label)))
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    for split, data in coco.items():
        path = osp.join(out, 'annotations', f'instances_{split}.json')
        with open(path, 'w') as f:
            json.dump(dict(data, categories=category), f)
    return {split: len(d['annotations']) for split, d in coco.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the stardist example nuclei as a COCO dataset '
        '(train: three quadrants, val: the bottom-right one) and '
        'Semantic FPN label maps.')
    parser.add_argument('--out', default='data/nuclei', help='output folder')
    parser.add_argument(
        '--src',
        help='folder with img2d.tif and mask2d.tif (default: the '
        'installed stardist wheel)')
    parser.add_argument(
        '--scale', type=int, default=2, help='integer upscale (default 2)')
    parser.add_argument(
        '--min-area',
        type=int,
        default=20,
        help='smallest part of a cut nucleus kept, in source pixels')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the files an earlier run wrote (only those)')
    args = parser.parse_args(argv)
    src = find_source(args.src)
    if src is None:
        where = args.src or 'the installed stardist package'
        print(
            f'img2d.tif and mask2d.tif not found in {where}. Install the '
            f'data with:\n    {PIP_COMMAND}\n(nothing of stardist is '
            'imported) or pass --src DIR.',
            file=sys.stderr)
        return 1
    try:
        with output_dir(
                args.out,
                'tools/dataset_converters/nuclei2coco.py',
                overwrite=args.overwrite):
            counts = convert(src, args.out, args.scale, args.min_area)
    except OutputError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'nuclei from {src} -> {args.out}: ' +
          ', '.join(f'{k} {v} instances' for k, v in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
