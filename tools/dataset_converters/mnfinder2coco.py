# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write mnfinder's hand-painted nuclei as a COCO dataset and label maps.

    python tools/dataset_converters/mnfinder2coco.py [--out data/mnfinder]
        [--wheel data/downloads/mnfinder-1.2.3-py3-none-any.whl]
        [--overwrite]

Source: the data of the mnfinder 1.2.3 wheel (MIT; Hatch lab, University of
Washington, https://github.com/hatch-lab/mnfinder), read from the zip
(:data:`PIP_COMMAND`); one colour per nucleus in ``nucleus_masks/``. The
wheel's splits, less the training picture equal to a test picture;
``labels2coco.py`` converts; docs/nuclei.md ("The data").
"""
import argparse
import hashlib
import io
import os.path as osp
import re
import sys
import zipfile

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import labels2coco  # noqa: E402

WHEEL = 'data/downloads/mnfinder-1.2.3-py3-none-any.whl'
PIP_COMMAND = ('pip download --no-deps --ignore-requires-python '
               'mnfinder==1.2.3 -d data/downloads')
SPLITS = dict(train='training-data', test='test-data', val='validation-data')
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
                labels2coco.read_picture(io.BytesIO(zf.read(p)))
                for p in (path, mask)
            ]
            name = re.sub(r'[^A-Za-z0-9.-]', '_',
                          f"{match['exp']}_{match['stem']}")
            pairs[match['split']].append((name, *arrays))
    return pairs


def digest(picture):
    data = picture.tobytes() + str(picture.shape).encode()
    return hashlib.sha1(data).hexdigest()


def convert(wheel, out, overwrite=False):
    """Write the three splits; returns {split: (pictures, nuclei)}."""
    pairs = read_pairs(wheel)
    tested = {digest(p) for _, p, _ in pairs['test-data']}
    pairs['training-data'] = [
        pair for pair in pairs['training-data']
        if digest(pair[1]) not in tested
    ]
    return {
        split: (
            len(pairs[folder]),  # grid (1, 1), min_area 1
            labels2coco.convert(pairs[folder], out, split, 'nucleus', (1, 1),
                                1, overwrite))
        for split, folder in SPLITS.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="mnfinder's nuclei (train/test/val as in the wheel) -> "
        'COCO boxes and RLE masks, and 0/1 label maps.')
    add = parser.add_argument
    add('--out', default='data/mnfinder')
    add('--wheel', default=WHEEL, help='the mnfinder wheel')
    add('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    if not zipfile.is_zipfile(args.wheel):
        print(
            f'{args.wheel} is not the mnfinder 1.2.3 wheel. Get it with:\n'
            f'    {PIP_COMMAND}',
            file=sys.stderr)
        return 1
    return labels2coco.run(
        lambda: convert(args.wheel, args.out, args.overwrite),
        lambda counts: f'mnfinder -> {args.out}: ' + ', '.join(
            f'{k} {n} pictures, {m} nuclei' for k, (n, m) in counts.items()))


if __name__ == '__main__':
    sys.exit(main())
