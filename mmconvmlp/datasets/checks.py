# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Scans of detection and segmentation datasets for data that training
would fail on hours in, or would use without a word.

MMDetection's ``CocoDataset`` drops boxes it cannot use in silence and keeps
boxes that reach outside the image unclipped; a missing or empty image
stops the run when the data loader reaches it, a label value beyond the
class count at the loss. These scans read what is cheap on the whole
dataset (the annotation file, file sizes, a sample of the label maps), or,
with ``decode=True``, decode every file, and return a
:class:`DatasetReport`: each kind of problem with its count and the first
few places. :mod:`mmconvmlp.datasets.preflight` runs them on a config.
"""
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

#: How many places of each problem a report keeps.
MAX_EXAMPLES = 3

# Kinds of problems: (name, fatal). Fatal ones make the dataset unusable;
# the others are fixed (boxes) or skipped (images) and reported.
INVALID_JSON = 'annotation file that is not valid JSON'
MALFORMED = 'malformed entries'
UNKNOWN_CATEGORY = 'annotations with a category id not in categories'
MISSING = 'missing files'
EMPTY = 'empty files (0 bytes)'
UNDECODABLE_LABEL = 'label maps that cannot be decoded'
BAD_LABEL = 'label maps with values out of range'
UNDECODABLE_IMAGE = 'images that cannot be decoded'
CLIPPED = 'boxes clipped to the image'
DROPPED = 'degenerate boxes dropped'
ORPHAN = 'annotations of an image id not in images (ignored)'
SIZE_MISMATCH = 'images whose size differs from the annotation file'


class Problem:
    """One kind of problem in a dataset: how often, and where first.

    Args:
        kind (str): What is wrong, e.g. :data:`MISSING`.
        fatal (bool): Whether it makes the dataset unusable.

    Attributes:
        count (int): How often it was found.
        examples (list[str]): The first :data:`MAX_EXAMPLES` places, e.g.
            a file name with a detail.
    """

    def __init__(self, kind: str, fatal: bool):
        self.kind = kind
        self.fatal = fatal
        self.count = 0
        self.examples: List[str] = []

    def add(self, example: str) -> None:
        """Count one more occurrence at ``example``."""
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def __str__(self) -> str:
        more = '; ...' if self.count > len(self.examples) else ''
        return (f'{self.kind}: {self.count}; first: ' +
                '; '.join(self.examples) + more)


class DatasetReport:
    """What a scan found in one dataset.

    Args:
        source (str): The annotation file, or the image folder.
        name (str): The dataset's config key, e.g.
            ``'train_dataloader.dataset'``. Defaults to ``source``.

    Attributes:
        num_samples (int, optional): Images the dataset names; None where
            the annotation file could not be read.
        problems (dict[str, Problem]): The problems found, by kind, in the
            order they were first found.
        cleaned (dict, optional): COCO annotation files only: the file's
            content with boxes clipped and degenerate ones removed, when
            any box changed; else None.
    """

    def __init__(self, source: str, name: Optional[str] = None):
        self.source = source
        self.name = name or source
        self.num_samples: Optional[int] = None
        self.problems: Dict[str, Problem] = {}
        self.cleaned: Optional[dict] = None

    def problem(self, kind: str, fatal: bool = True) -> Problem:
        """The :class:`Problem` of ``kind``, created on first use."""
        if kind not in self.problems:
            self.problems[kind] = Problem(kind, fatal)
        return self.problems[kind]

    def add(self, kind: str, example: str, fatal: bool = True) -> None:
        """Count one occurrence of ``kind`` at ``example``."""
        self.problem(kind, fatal).add(example)

    def count(self, kind: str) -> int:
        """How often ``kind`` was found (0 if never)."""
        return self.problems[kind].count if kind in self.problems else 0

    @property
    def fatal(self) -> List[Problem]:
        """The problems that make the dataset unusable."""
        return [p for p in self.problems.values() if p.fatal]

    @property
    def warnings(self) -> List[Problem]:
        """The problems that are fixed or skipped."""
        return [p for p in self.problems.values() if not p.fatal]

    @property
    def title(self) -> str:
        """``name (source, N images)``: the heading of its summary."""
        parts = [] if self.source == self.name else [self.source]
        if self.num_samples is not None:
            parts.append(f'{self.num_samples} images')
        return f'{self.name} ({", ".join(parts)})' if parts else self.name


def _progress(total: int, enabled: bool):
    """An MMEngine progress bar over ``total`` steps, or None."""
    if not enabled or total == 0:
        return None
    from mmengine.utils import ProgressBar

    # sys.stdout as it is now (ProgressBar's default is bound at import).
    return ProgressBar(total, file=sys.stdout)


def _finish(bar) -> None:
    if bar is not None:
        bar.file.write('\n')
        bar.file.flush()


def _check_file(path: str, report: DatasetReport) -> bool:
    """Whether ``path`` exists and is not empty; records it if not."""
    try:
        size = os.stat(path).st_size
    except OSError:
        report.add(MISSING, path)
        return False
    if size == 0:
        report.add(EMPTY, path)
        return False
    return True


def _decode(path: str, flag: str = 'color', backend: str = 'cv2'):
    """Decode ``path`` as the data loaders do.

    Returns:
        tuple: The image (np.ndarray) or None, and the reason it failed.
    """
    import mmcv
    try:
        with open(path, 'rb') as f:
            img = mmcv.imfrombytes(f.read(), flag=flag, backend=backend)
    except Exception as e:  # noqa: BLE001  (any decoder error: the file)
        return None, decode_error(e)
    if img is None:
        return None, 'the decoder returned no image (truncated?)'
    return img, ''


def decode_error(error: BaseException) -> str:
    """A one-line reason from a decoder's exception (OpenCV's are long)."""
    text = str(error).strip().splitlines()
    text = text[-1] if text else ''
    if isinstance(error, AssertionError):  # mmcv: `img is not None`
        return 'the decoder returned no image (truncated?)'
    if '!buf.empty()' in text:
        return 'empty file'
    return f'{type(error).__name__}: {text[:120]}'


def _undecodable(report: DatasetReport, fatal_share: Optional[float]):
    """The undecodable-images problem: fatal in a test-mode dataset
    (``fatal_share`` None), else once more than that share of the images
    fail (training skips them up to it)."""
    problem = report.problems.get(UNDECODABLE_IMAGE)
    if problem is not None:
        problem.fatal = (
            fatal_share is None
            or problem.count > fatal_share * (report.num_samples or 0))


# ------------------------------------------------------------------ COCO
def _load_json(ann_file: str, report: DatasetReport) -> Optional[dict]:
    """The annotation file's content, or None (recorded) if it is not a
    JSON object with ``images``, ``annotations`` and ``categories``."""
    try:
        with open(ann_file, 'rb') as f:
            data = json.loads(f.read())
    except json.JSONDecodeError as e:
        report.add(
            INVALID_JSON, f'{ann_file}: {e.msg} at line {e.lineno} '
            f'column {e.colno}')
        return None
    except UnicodeDecodeError as e:
        report.add(INVALID_JSON,
                   f'{ann_file}: not UTF-8 text (byte {e.start})')
        return None
    if not isinstance(data, dict):
        report.add(
            MALFORMED, f'{ann_file}: a JSON {type(data).__name__}, '
            'not an object')
        return None
    absent = [
        key for key in ('images', 'annotations', 'categories')
        if not isinstance(data.get(key), list)
    ]
    if absent:
        report.add(MALFORMED, f'{ann_file}: no list {", ".join(absent)}')
        return None
    return data


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_box(bbox: Sequence[float], width: float,
              height: float) -> Tuple[Optional[List[float]], str]:
    """Clip a COCO box to its image, or say why it cannot be used.

    MMDetection's ``CocoDataset`` ignores boxes that do not overlap the
    image or are under a pixel wide or high, and keeps the others as given;
    here a box is clipped first, so that what survives lies in the image.

    Args:
        bbox (Sequence[float]): ``[x, y, w, h]``, pixels.
        width (float): Image width, pixels.
        height (float): Image height, pixels.

    Returns:
        tuple: The box, clipped (``[x, y, w, h]``, a copy of ``bbox`` when
        nothing changed), and ``''``; or None and why it is dropped.
    """
    x, y, w, h = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return None, 'not finite'
    if w <= 0 or h <= 0:
        return None, 'width or height not positive'
    x1, y1 = min(max(x, 0.), width), min(max(y, 0.), height)
    x2, y2 = min(max(x + w, 0.), width), min(max(y + h, 0.), height)
    if x2 <= x1 or y2 <= y1:
        return None, 'outside the image'
    if x2 - x1 < 1 or y2 - y1 < 1:  # what CocoDataset would ignore
        return None, 'under 1 pixel wide or high in the image'
    if (x1, y1, x2, y2) == (x, y, x + w, y + h):
        return list(bbox), ''
    return [x1, y1, x2 - x1, y2 - y1], ''


def _fmt_box(bbox: Sequence[float]) -> str:
    return '[' + ', '.join(f'{float(v):g}' for v in bbox) + ']'


def _is_image_entry(image) -> bool:
    """Whether ``image`` has what ``CocoDataset`` reads: a ``file_name``
    and a positive ``width`` and ``height``."""
    return (isinstance(image, dict)
            and isinstance(image.get('file_name'), str) and all(
                _is_number(image.get(k)) and image[k] > 0
                for k in ('width', 'height')))


def _is_annotation_entry(ann) -> bool:
    """Whether ``ann`` has what ``CocoDataset`` reads: a ``bbox`` of four
    numbers and a numeric ``area``."""
    if not isinstance(ann, dict) or not _is_number(ann.get('area')):
        return False
    bbox = ann.get('bbox')
    return (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(_is_number(v) for v in bbox))


def _coco_images(data: dict, report: DatasetReport) -> Dict[object, dict]:
    """Image entries by id; malformed ones recorded."""
    images = {}
    for image in data['images']:
        if not _is_image_entry(image):
            report.add(
                MALFORMED, f'image entry {str(image)[:80]} (needs id, '
                'file_name, positive width and height)')
            continue
        images[image.get('id')] = image
    return images


def _coco_annotations(data: dict, images: Dict[object, dict],
                      report: DatasetReport) -> List[dict]:
    """Check every annotation's category and box; the annotations kept,
    boxes clipped (as new dicts where they change)."""
    category_ids = {
        c.get('id')
        for c in data['categories'] if isinstance(c, dict)
    }
    kept = []
    for ann in data['annotations']:
        ann_id = ann.get('id') if isinstance(ann, dict) else None
        if not _is_annotation_entry(ann):
            report.add(
                MALFORMED, f'annotation {ann_id} (needs bbox '
                '[x, y, w, h] and area)')
            continue
        image = images.get(ann.get('image_id'))
        if image is None:
            orphan = f'annotation {ann_id}: image_id {ann.get("image_id")}'
            report.add(ORPHAN, orphan, fatal=False)
            continue
        if ann.get('category_id') not in category_ids:
            report.add(
                UNKNOWN_CATEGORY, f'annotation {ann_id} '
                f'({image["file_name"]}) has category_id '
                f'{ann.get("category_id")}')
            continue
        if ann.get('ignore', False):  # CocoDataset skips these
            kept.append(ann)
            continue
        bbox = ann['bbox']
        where = f'{image["file_name"]} (annotation {ann_id})'
        box, reason = check_box(bbox, image['width'], image['height'])
        if box is not None and ann['area'] <= 0:
            box, reason = None, 'area not positive'
        if box is None:
            report.add(
                DROPPED, f'{where}: {_fmt_box(bbox)} {reason}', fatal=False)
            continue
        if box != list(bbox):
            change = f'{_fmt_box(bbox)} -> {_fmt_box(box)}'
            report.add(CLIPPED, f'{where}: {change}', fatal=False)
            ann = dict(ann, bbox=box)
        kept.append(ann)
    return kept


def scan_json(ann_file: str, name: Optional[str] = None) -> DatasetReport:
    """Check only that a COCO annotation file parses and has ``images``,
    ``annotations`` and ``categories`` lists (for an evaluator's file).

    Args:
        ann_file (str): The annotation file.
        name (str, optional): Its config key, for the report.

    Returns:
        DatasetReport: The problems found (``num_samples`` stays None).
    """
    report = DatasetReport(ann_file, name)
    _load_json(ann_file, report)
    return report


def scan_coco(ann_file: str,
              img_dir: str,
              *,
              decode: bool = False,
              fatal_share: Optional[float] = 0.01,
              progress: bool = False,
              name: Optional[str] = None) -> DatasetReport:
    """Scan a detection dataset given as a COCO annotation file.

    Checks that the file parses; that every image it names exists and is
    not empty; that every annotation's category is among the file's
    ``categories``; and every box: boxes reaching outside the image are
    clipped to it, boxes that are not finite, not positive in width or
    height, outside the image, under a pixel in it, or of non-positive
    ``area`` are dropped (both counted; see :func:`check_box`). With
    ``decode`` every image is decoded too (as ``LoadImageFromFile`` does)
    and its size compared with the file's.

    Args:
        ann_file (str): The annotation file.
        img_dir (str): Folder the images' ``file_name`` is relative to.
        decode (bool): Decode every image. Defaults to False.
        fatal_share (float, optional): Share of the images that may fail
            to decode before that problem is fatal (training skips them
            up to it); None: any (a test set cannot skip images).
            Defaults to 0.01.
        progress (bool): Show a progress bar while decoding. Defaults to
            False.
        name (str, optional): Name of the dataset in the report.

    Returns:
        DatasetReport: The problems; ``cleaned`` holds the file's content
        with the boxes fixed when any box was clipped or dropped.
    """
    report = DatasetReport(ann_file, name)
    data = _load_json(ann_file, report)
    if data is None:
        return report
    images = _coco_images(data, report)
    report.num_samples = len(images)
    kept = _coco_annotations(data, images, report)
    if report.count(CLIPPED) or report.count(DROPPED):
        report.cleaned = dict(data, annotations=kept)
    bar = _progress(len(images), decode and progress)
    for image in images.values():
        path = osp.join(img_dir, image['file_name'])
        if _check_file(path, report) and decode:
            img, reason = _decode(path)
            if img is None:
                report.add(UNDECODABLE_IMAGE, f'{path}: {reason}')
            elif img.shape[:2] != (image['height'], image['width']):
                report.add(
                    SIZE_MISMATCH, f'{path}: {img.shape[1]}x'
                    f'{img.shape[0]}, the file says {image["width"]}x'
                    f'{image["height"]}',
                    fatal=False)
        if bar is not None:
            bar.update()
    _finish(bar)
    _undecodable(report, fatal_share)
    return report


# ---------------------------------------------------------- segmentation
def sample_evenly(items: Sequence, count: Optional[int]) -> list:
    """``count`` items spread evenly over ``items`` (all if None or more
    than there are): the same ones on every run."""
    if count is None or count >= len(items):
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def label_values(label_map: np.ndarray,
                 reduce_zero_label: bool) -> Tuple[np.ndarray, np.ndarray]:
    """The distinct values of a label map, raw and as training sees them.

    With ``reduce_zero_label`` (ADE20K): raw 0 -> 255, v -> v - 1, as
    MMSegmentation's ``LoadAnnotations`` does (255 stays 255).

    Args:
        label_map (np.ndarray): (H, W) integer label map.
        reduce_zero_label (bool): Apply the reduction.

    Returns:
        tuple[np.ndarray, np.ndarray]: The raw values and the values after
        the reduction, each (N,) int64, in the order of the raw values.
    """
    raw = np.unique(label_map).astype(np.int64)
    if not reduce_zero_label:
        return raw, raw
    seen = np.where(raw == 0, 255, raw - 1)
    seen[raw == 255] = 255
    return raw, seen


def scan_segmentation(samples: Sequence[Tuple[str, Optional[str]]],
                      num_classes: int,
                      ignore_index: int = 255,
                      reduce_zero_label: bool = False,
                      *,
                      num_label_maps: Optional[int] = 50,
                      decode: bool = False,
                      fatal_share: Optional[float] = 0.01,
                      progress: bool = False,
                      source: str = '',
                      name: Optional[str] = None) -> DatasetReport:
    """Scan a semantic segmentation dataset given as its file list.

    Checks that every image and label map exists and is not empty, and
    that a sample of the label maps (all with ``decode``) holds only
    values below ``num_classes`` or equal to ``ignore_index`` after
    ``reduce_zero_label``. With ``decode`` every image is decoded too.

    Args:
        samples (Sequence[tuple[str, str | None]]): ``(image, label map)``
            paths, in a fixed order (the sample depends on it).
        num_classes (int): Label values the annotation may hold: the
            dataset's class count, or with a ``label_map`` (a subset of
            the classes) the number of original classes it maps.
        ignore_index (int): The label that is not trained on. Defaults to
            255.
        reduce_zero_label (bool): Whether raw 0 is "other" (ADE20K).
            Defaults to False.
        num_label_maps (int, optional): How many label maps to decode,
            spread evenly over the list; None: all. Defaults to 50.
        decode (bool): Decode every image and label map. Defaults to False.
        fatal_share, progress, name: As in :func:`scan_coco`.
        source (str): The image folder, for the report.

    Returns:
        DatasetReport: The problems found.
    """
    report = DatasetReport(source, name)
    report.num_samples = len(samples)
    labels = []
    for img_path, seg_path in samples:
        _check_file(img_path, report)
        if seg_path is not None and _check_file(seg_path, report):
            labels.append(seg_path)
    labels = labels if decode else sample_evenly(labels, num_label_maps)
    steps = len(labels) + (len(samples) if decode else 0)
    bar = _progress(steps, progress)
    for path in labels:
        _check_label_map(path, num_classes, ignore_index, reduce_zero_label,
                         report)
        if bar is not None:
            bar.update()
    for img_path, _ in samples if decode else ():
        if osp.isfile(img_path) and os.stat(img_path).st_size:
            img, reason = _decode(img_path)
            if img is None:
                report.add(UNDECODABLE_IMAGE, f'{img_path}: {reason}')
        if bar is not None:
            bar.update()
    _finish(bar)
    _undecodable(report, fatal_share)
    return report


def _check_label_map(path: str, num_classes: int, ignore_index: int,
                     reduce_zero_label: bool, report: DatasetReport) -> None:
    # Decoded as MMSegmentation's LoadAnnotations does.
    label_map, reason = _decode(path, flag='unchanged', backend='pillow')
    if label_map is None:
        report.add(UNDECODABLE_LABEL, f'{path}: {reason}')
        return
    raw, seen = label_values(label_map, reduce_zero_label)
    bad = (seen >= num_classes) & (seen != ignore_index)
    if bad.any():
        values = ', '.join(f'{r} (class {s} after reduce_zero_label)'
                           if reduce_zero_label else str(r)
                           for r, s in zip(raw[bad][:3], seen[bad][:3]))
        after = ' after reduce_zero_label' if reduce_zero_label else ''
        report.add(
            BAD_LABEL, f'{path}: value {values}; valid: '
            f'0..{num_classes - 1} and {ignore_index}{after}')


def summary_lines(reports: Iterable[DatasetReport],
                  fatal: Optional[bool] = None) -> List[str]:
    """The problems of ``reports`` as text: a heading per dataset with
    problems, a line per kind.

    Args:
        reports (Iterable[DatasetReport]): The reports.
        fatal (bool, optional): Only fatal (True) or only non-fatal
            (False) problems; None: all, fatal ones marked.

    Returns:
        list[str]: The lines, none where nothing was found.
    """
    lines = []
    for report in reports:
        problems = [
            p for p in report.problems.values()
            if fatal is None or p.fatal == fatal
        ]
        if problems:
            lines.append(report.title + ':')
            lines += [
                f'  {p}' + (' [unusable]' if fatal is None and p.fatal else '')
                for p in problems
            ]
    return lines
