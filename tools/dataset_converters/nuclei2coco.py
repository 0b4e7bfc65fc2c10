# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write the StarDist example nuclei as a COCO dataset and label maps.

    python tools/dataset_converters/nuclei2coco.py [--out data/nuclei]
        [--src DIR] [--min-area 20] [--overwrite]

Source: ``img2d.tif`` and ``mask2d.tif`` of the stardist 0.9.2 wheel
(BSD-3-Clause, Schmidt, Weigert et al., MICCAI 2018; :data:`PIP_COMMAND`,
not imported) or ``--src``. Three 256x256 quadrants train, the bottom-right
one is ``val``; ``labels2coco.py`` converts; docs/nuclei.md ("The data").
"""
import argparse
import importlib.util
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import labels2coco  # noqa: E402

PIP_COMMAND = 'pip install --no-deps stardist==0.9.2'
#: The quadrants: (name, split, row, column).
QUADRANTS = [('img2d_tl', 'train', 0, 0), ('img2d_tr', 'train', 0, 1),
             ('img2d_bl', 'train', 1, 0), ('img2d_br', 'val', 1, 1)]


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
    h, w = labels.shape[0] // 2, labels.shape[1] // 2
    return {
        split:
        labels2coco.convert(
            [(name, rgb[r * h:(r + 1) * h, c * w:(c + 1) * w],
              labels[r * h:(r + 1) * h, c * w:(c + 1) * w])
             for name, where, r, c in QUADRANTS if where == split], out, split,
            'nucleus', (1, 1), min_area, overwrite)
        for split in ('train', 'val')
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the stardist example nuclei as a COCO dataset '
        '(train: three quadrants, val: the bottom-right one) and '
        'Semantic FPN label maps.')
    add = parser.add_argument
    add('--out', default='data/nuclei', help='output folder')
    add('--src',
        help='folder with img2d.tif and mask2d.tif (default: the '
        'installed stardist wheel)')
    add('--min-area',
        type=int,
        default=20,
        help='smallest part of a cut nucleus kept, in pixels')
    add('--overwrite',
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
    return labels2coco.run(
        lambda: convert(src, args.out, args.min_area, args.overwrite),
        lambda counts: f'nuclei from {src} -> {args.out}: ' + ', '.join(
            f'{k} {v} instances' for k, v in counts.items()))


if __name__ == '__main__':
    sys.exit(main())
