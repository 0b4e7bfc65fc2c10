#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write mnfinder's hand-painted nuclei as a COCO dataset and label maps.

    python tools/dataset_converters/mnfinder2coco.py [--out data/mnfinder]
        [--wheel data/downloads/mnfinder-1.2.3-py3-none-any.whl]
        [--overwrite]

Source: the data folders of the mnfinder 1.2.3 wheel (MIT; Hatch lab,
University of Washington, https://github.com/hatch-lab/mnfinder), read from
the wheel (a zip; nothing of mnfinder is imported or installed). Get it with::

    pip download --no-deps --ignore-requires-python mnfinder==1.2.3 \\
        -d data/downloads

Fluorescence pictures of RPE-1, U2OS, HeLa, HFF and MCC13 nuclei (DAPI or
H2B; 8- or 16-bit grey TIFF, 512x512, 768x869 or 1024x1024) with one
colour per nucleus in ``nucleus_masks/*.png`` (RGBA, alpha 0 background;
micronuclei, painted apart in ``mn_masks/``, are not used). The wheel's own
splits are kept: ``training-data`` -> ``train`` (30 pictures, 2,366 nuclei),
``test-data`` -> ``test`` (16, 603; other cell lines, stains and objectives,
``test-data/image-info.csv``), ``validation-data`` -> ``val`` (3, 234).
One training picture (``2022-05-26_RPE1/1.tif``) has the same pixels as the
test picture ``2023-05-31_misc/1.tif``: it is left out of ``train`` so that
no test picture is trained on (29 pictures, 2,284 nuclei).

Nuclei are 31 px across at the median (box side, 5 % under 22 px). The
conversion is ``labels2coco.py``'s (8-bit by a per-picture percentile
stretch, boxes and RLE masks, 0/1 label maps), at the source scale; file
names are ``<experiment>_<stem>.png`` with characters other than letters,
digits, ``-`` and ``.`` made ``_``.
"""
import argparse
import hashlib
import io
import os.path as osp
import re
import sys
import zipfile

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import labels2coco  # noqa: E402

WHEEL = 'data/downloads/mnfinder-1.2.3-py3-none-any.whl'
PIP_COMMAND = ('pip download --no-deps --ignore-requires-python '
               'mnfinder==1.2.3 -d data/downloads')
SPLITS = {
    'train': 'training-data',
    'test': 'test-data',
    'val': 'validation-data'
}
PAIR = re.compile(r'mnfinder/(?P<split>[a-z]+-data)/(?P<exp>[^/]+)/images/'
                  r'(?P<stem>[^/]+)\.tif$')


def read_pairs(wheel):
    """{split folder: [(name, picture, colour labels)]} from the wheel."""
    pairs = {folder: [] for folder in SPLITS.values()}
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for path in sorted(names):
            match = PAIR.match(path)
            if match is None or match['split'] not in pairs:
                continue
            mask = (f"mnfinder/{match['split']}/{match['exp']}/"
                    f"nucleus_masks/{match['stem']}.png")
            if mask not in names:
                continue
            arrays = [
                np.asarray(Image.open(io.BytesIO(zf.read(p))))
                for p in (path, mask)
            ]
            name = re.sub(r'[^A-Za-z0-9.-]', '_',
                          f"{match['exp']}_{match['stem']}")
            pairs[match['split']].append((name, *arrays))
    return pairs


def digest(picture):
    return hashlib.sha1(picture.tobytes() + str(picture.shape).encode())


def convert(wheel, out, overwrite=False):
    """Write the three splits; returns {split: (pictures, nuclei)}."""
    pairs = read_pairs(wheel)
    tested = {digest(p).hexdigest() for _, p, _ in pairs['test-data']}
    pairs['training-data'] = [
        pair for pair in pairs['training-data']
        if digest(pair[1]).hexdigest() not in tested
    ]
    return {
        split: (len(pairs[folder]),
                labels2coco.convert(
                    pairs[folder],
                    out,
                    split,
                    'nucleus',
                    min_area=1,
                    overwrite=overwrite))
        for split, folder in SPLITS.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="mnfinder's nuclei (train/test/val as in the wheel) -> "
        'COCO boxes and RLE masks, and 0/1 label maps.')
    parser.add_argument('--out', default='data/mnfinder')
    parser.add_argument('--wheel', default=WHEEL, help='the mnfinder wheel')
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    if not zipfile.is_zipfile(args.wheel):
        print(
            f'{args.wheel} is not the mnfinder 1.2.3 wheel. Get it with:\n'
            f'    {PIP_COMMAND}',
            file=sys.stderr)
        return 1
    try:
        counts = convert(args.wheel, args.out, args.overwrite)
    except labels2coco.OutputError as e:
        print(e, file=sys.stderr)
        return 1
    print(f'mnfinder -> {args.out}: ' +
          ', '.join(f'{k} {n} pictures, {m} nuclei'
                    for k, (n, m) in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
