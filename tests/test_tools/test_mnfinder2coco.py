"""tools/dataset_converters/mnfinder2coco.py on a wheel of mnfinder's layout
written here (the real one is a 66 MB download): the wheel's splits, one
object per colour, and a training picture equal to a test picture left out
of training."""
import importlib.util
import io
import os.path as osp
import zipfile

import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'mnfinder2coco.py')


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='PNG')
    return buffer.getvalue()


def tif(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='TIFF')
    return buffer.getvalue()


def picture(seed, objects):
    """(16-bit picture, RGBA colour labels) with ``objects`` squares."""
    rng = np.random.default_rng(seed)
    image = rng.integers(100, 200, (48, 64)).astype(np.uint16)
    colours = np.zeros((48, 64, 4), np.uint8)
    for i in range(objects):
        image[4:12, 4 + 12 * i:12 + 12 * i] += 3000
        colours[4:12, 4 + 12 * i:12 + 12 * i] = (10 * i, 200, 7, 255)
    return image, colours


def test_splits_and_the_duplicate(tmp_path):
    spec = importlib.util.spec_from_file_location('_mnf', CONVERTER)
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    wheel = tmp_path / 'mnfinder-1.2.3-py3-none-any.whl'
    layout = {  # path stem: (seed, objects)
        'training-data/2022-03-18_RPE1/3': (1, 2),
        'training-data/2022-05-26_RPE1/1': (2, 3),  # = the test picture
        'test-data/2023-05-31_misc/1': (2, 3),
        'test-data/2023-05-31_misc/MAX_x.lif - B': (3, 4),
        'validation-data/2022-10-14_U2OS/1': (4, 1),
    }
    with zipfile.ZipFile(wheel, 'w') as zf:
        zf.writestr('mnfinder/__init__.py', '')
        for stem, (seed, objects) in layout.items():
            split_exp, name = stem.rsplit('/', 1)
            image, colours = picture(seed, objects)
            zf.writestr(f'mnfinder/{split_exp}/images/{name}.tif', tif(image))
            zf.writestr(f'mnfinder/{split_exp}/images/{name}.png', b'x')
            zf.writestr(f'mnfinder/{split_exp}/nucleus_masks/{name}.png',
                        png(colours))
            zf.writestr(f'mnfinder/{split_exp}/mn_masks/{name}.png', b'x')
    out = tmp_path / 'out'
    assert converter.main(['--out', str(out), '--wheel', str(wheel)]) == 0
    from pycocotools.coco import COCO
    found = {}
    for split in ('train', 'test', 'val'):
        coco = COCO(str(out / 'annotations' / f'instances_{split}.json'))
        found[split] = {
            img['file_name']: len(coco.getAnnIds(imgIds=img['id']))
            for img in coco.imgs.values()
        }
    assert found == {
        'train': {
            '2022-03-18_RPE1_3.png': 2
        },
        'test': {
            '2023-05-31_misc_1.png': 3,
            '2023-05-31_misc_MAX_x.lif_-_B.png': 4
        },
        'val': {
            '2022-10-14_U2OS_1.png': 1
        },
    }
    assert converter.main(['--out',
                           str(out), '--wheel',
                           str(tmp_path)]) == 1  # not a wheel
