# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The annotations MMDetection's ``CocoDataset`` drops, named for the
pre-flight of the tools (:func:`mmconvmlp.utils.check_data`) and
``tools/misc/check_dataset.py``."""
from typing import Optional

#: Largest share of a dataset's annotations that MMDetection may drop before
#: the tools stop (``--allow-dropped`` goes on anyway).
MAX_DROPPED = 0.01
#: How many dropped annotations a message names per reason.
_NAMED = 5


def _with_mask(ds: dict) -> bool:
    """Whether the dataset's pipeline loads instance masks."""
    return any(
        isinstance(step, dict) and str(step.get('type')).endswith(
            'LoadAnnotations') and step.get('with_mask')
        for step in ds.get('pipeline') or [])


def _has_pixels(segm) -> bool:
    """Whether MMDetection's ``LoadAnnotations`` gets a mask with pixels from
    a COCO ``segmentation``: a polygon of at least 3 points, or an RLE that
    covers a pixel."""
    if isinstance(segm, list):
        return any(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
            for p in segm)
    if not (isinstance(segm, dict) and segm.get('size')
            and isinstance(segm.get('counts'), (list, str))):
        return False
    from pycocotools import mask as mask_utils
    rle = mask_utils.frPyObjects(segm, *segm['size']) if isinstance(
        segm['counts'], list) else segm
    return bool(mask_utils.area(rle) > 0)


def _drop_reason(ann: dict, width: int, height: int, known: set,
                 with_mask: bool) -> Optional[str]:
    """Why MMDetection will not train on the COCO annotation ``ann`` of an
    image of ``width`` x ``height`` pixels, or None: the tests of mmdet
    3.3's ``CocoDataset.parse_data_info`` (which drops the annotation) and
    of ``LoadAnnotations(with_mask=True)`` (which ignores it). ``known``:
    the category ids of the file and of the config's classes."""
    x, y, w, h = ann['bbox']
    if w < 1 or h < 1 or ann['area'] <= 0:
        return 'box under one pixel or negative'
    if min(x + w, width) <= max(x, 0) or min(y + h, height) <= max(y, 0):
        return 'box outside the image'
    if ann['category_id'] not in known:
        return 'category id not in the classes'
    if with_mask and not _has_pixels(ann.get('segmentation')):
        return 'mask with no pixels'
    return None


def _watch_annotations(dataset, with_mask: bool) -> dict:
    """Make ``dataset`` collect, as it parses, the annotations MMDetection
    will drop; returns the dict it fills (``total``, ``dropped``: reason ->
    ``[(annotation id, image id, file name)]``, ``emptied``: ``[(image id,
    file name, annotation ids)]`` of images that lose all of theirs).

    mmdet's ``CocoDataset`` deletes its COCO object once parsed and its
    parsed instances carry no annotation ids, so the raw annotations are
    read as they pass through ``parse_data_info`` (on this object only):
    nothing is parsed twice.
    """
    found = dict(total=0, dropped={}, emptied=[])
    parse = dataset.parse_data_info

    def parse_and_watch(raw: dict):
        if isinstance(raw, dict) and 'raw_ann_info' in raw:
            img = raw['raw_img_info']
            classes = set(getattr(dataset, 'cat_ids', ()))
            coco = getattr(dataset, 'coco', None)
            known = classes | set(getattr(coco, 'cats', None) or ())
            # Categories of the file that the config leaves out are the
            # config's choice: neither counted nor reported.
            anns = [
                a for a in raw['raw_ann_info']
                if not a.get('ignore', False) and
                (a['category_id'] in classes or a['category_id'] not in known)
            ]
            lost = []
            for ann in anns:
                reason = _drop_reason(ann, img['width'], img['height'], known,
                                      with_mask)
                if reason:
                    found['dropped'].setdefault(reason, []).append(
                        (ann.get('id'), img['img_id'], img['file_name']))
                    lost.append(ann.get('id'))
            found['total'] += len(anns)
            if anns and len(lost) == len(anns):
                found['emptied'].append(
                    (img['img_id'], img['file_name'], lost))
        return parse(raw)

    dataset.parse_data_info = parse_and_watch
    return found


def describe_dropped(found: dict) -> str:
    """The counts and names of :func:`_watch_annotations`' findings, one
    line: ``3 of 40 annotations: 2 box under one pixel or negative
    (annotation 5 in image 3 a.jpg, ...), 1 ...``."""
    parts = []
    for reason, items in found['dropped'].items():
        named = ', '.join(f'annotation {a} in image {i} {f}'
                          for a, i, f in items[:_NAMED])
        more = f', and {len(items) - _NAMED} more' \
            if len(items) > _NAMED else ''
        parts.append(f'{len(items)} {reason} ({named}{more})')
    count = sum(map(len, found['dropped'].values()))
    return f'{count} of {found["total"]} annotations: ' + '; '.join(parts)


def dropped_problem(found: dict) -> Optional[str]:
    """Why the tools stop for these findings, or None: an image loses all
    of its annotations, or more than :data:`MAX_DROPPED` are dropped."""
    count = sum(map(len, found['dropped'].values()))
    problems = []
    if found['emptied']:
        img_id, name, ids = found['emptied'][0]
        others = len(found['emptied']) - 1
        problems.append(f'image {img_id} {name} loses all of its annotations '
                        f'({", ".join(map(str, ids))})' +
                        (f', and {others} more images do' if others else ''))
    if count > MAX_DROPPED * found['total']:
        problems.append(f'{count / found["total"]:.1%} of the annotations '
                        f'are dropped, more than {MAX_DROPPED:.0%}')
    return '; '.join(problems) or None
