# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""A loading transform that skips unreadable images by name."""
import logging
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

from mmconvmlp.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SafeLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that skips missing, empty and undecodable images.

    MMCV's ``ignore_empty=True`` returns None for a file that cannot be read,
    but OpenCV returns None (no exception) for bytes it cannot decode, and
    MMCV 2.1 then fails an ``assert`` outside its ``ignore_empty`` branch,
    which ends the run. This adapter
    returns None in both cases, with a WARNING naming the file, so that
    MMEngine's ``BaseDataset`` fetches another sample in training (up to its
    ``max_refetch``). ``tools/train.py`` puts it into the train pipelines;
    in a config of your own write ``type='mmconvmlp.SafeLoadImageFromFile'``.

    Args:
        **kwargs: The arguments of MMCV's ``LoadImageFromFile``;
            ``ignore_empty`` defaults to True here.
    """

    def __init__(self, ignore_empty: bool = True, **kwargs) -> None:
        super().__init__(ignore_empty=ignore_empty, **kwargs)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``; None (and a WARNING naming it) when
        the file is missing, empty or not an image."""
        try:
            loaded = super().transform(results)
        except AssertionError:  # MMCV's "failed to load image" assert
            loaded = None
        if loaded is None:
            if not self.ignore_empty:
                raise OSError(f'cannot decode image {results["img_path"]}')
            print_log(
                f'skipped image {results["img_path"]}: missing, empty or '
                'not decodable', 'current', logging.WARNING)
        return loaded
