#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write the StarDist example nuclei as a COCO dataset and label maps.

    python tools/dataset_converters/nuclei2coco.py [--out data/nuclei]
        [--src DIR] [--min-area 20] [--overwrite]

Source: ``img2d.tif`` (512x512 uint16 fluorescence picture of cell nuclei)
and ``mask2d.tif`` (its hand-made instance labels, 125 nuclei, 0 =
background) from the stardist 0.9.2 wheel (``stardist/data/images/``),
BSD-3-Clause, by Uwe Schmidt, Martin Weigert et al. ("Cell Detection with
Star-convex Polygons", MICCAI 2018). Found with ``importlib`` (stardist is not
imported); install it with ``pip install --no-deps stardist==0.9.2`` or pass
``--src``.

Split: the four 256x256 quadrants; top-left, top-right and bottom-left
train, bottom-right is held out (``val``). The picture is made 8-bit as a
whole, then cut; the rest (masks, boxes, the cut nuclei under ``--min-area``
pixels, the output layout) is ``labels2coco.py``'s. Pictures stay at the
source scale (nuclei median 25 px across); the configs scale them.
"""
import argparse
import importlib.util
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import labels2coco  # noqa: E402

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


def convert(src, out, min_area=20, overwrite=False):
    """Write the dataset; returns {split: number of nuclei}."""
    rgb = labels2coco.to_rgb8(
        labels2coco.read_picture(osp.join(src, 'img2d.tif')))
    labels = labels2coco.read_picture(osp.join(src, 'mask2d.tif'))
    half = labels.shape[0] // 2, labels.shape[1] // 2
    counts = {}
    for split in ('train', 'val'):
        pictures = []
        for name, (where, row, col) in QUADRANTS.items():
            window = (slice(row * half[0], (row + 1) * half[0]),
                      slice(col * half[1], (col + 1) * half[1]))
            if where == split:
                pictures.append((name, rgb[window], labels[window]))
        counts[split] = labels2coco.convert(
            pictures,
            out,
            split,
            'nucleus',
            min_area=min_area,
            overwrite=overwrite)
    return counts


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
        '--min-area',
        type=int,
        default=20,
        help='smallest part of a cut nucleus kept, in pixels')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the files an earlier conversion wrote')
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
        counts = convert(src, args.out, args.min_area, args.overwrite)
    except labels2coco.OutputError as e:
        print(e, file=sys.stderr)
        return 1
    print(f'nuclei from {src} -> {args.out}: ' +
          ', '.join(f'{k} {v} instances' for k, v in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
