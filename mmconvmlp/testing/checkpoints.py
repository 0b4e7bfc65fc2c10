"""Files in the layout of the authors' released COCO and ADE20K models, with
random values (these machines cannot download the real ones).

The authors' detection and segmentation checkpoints are mmdet 2.x / mmseg 0.x
files: ``{'state_dict': ..., 'meta': {...}}`` with the backbone under
``backbone.`` in the original key layout, the neck and head keys as
MMDetection 3 / MMSegmentation 1 name them (those layers were not renamed),
and the class names (and palette) in ``meta['CLASSES']`` / ``meta['PALETTE']``.
"""
import copy
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

from mmengine.config import Config

from .batches import build_model
from .reference import ReferenceConvMLP


def random_classes(num_classes: int, word: str = 'thing') -> tuple:
    """Class names that are no dataset's (``thing0``, ``thing1``, ...)."""
    return tuple(f'{word}{i}' for i in range(num_classes))


def authors_checkpoint(
        config: str,
        seed: int = 0,
        classes: Optional[Sequence[str]] = None,
        palette: Optional[Sequence] = None,
        cfg_options: Optional[dict] = None
) -> Tuple[dict, 'OrderedDict', object]:
    """A checkpoint of a config's model in the authors' layout.

    Args:
        config (str): Path of a detector or segmentor config with a ConvMLP
            backbone.
        seed (int): Seed of the backbone's random values. Defaults to 0.
        classes (Sequence[str], optional): ``meta['CLASSES']``; None leaves
            the names out of the file.
        palette (Sequence, optional): ``meta['PALETTE']`` (MMSegmentation
            0.x files have one).
        cfg_options (dict, optional): Changes to the config before the model
            is built.

    Returns:
        tuple: ``(checkpoint, neck_and_heads, reference)``: the file's dict;
        the non-backbone tensors (a randomly initialised model of the config:
        keys and shapes as the authors' files have them); the
        :class:`ReferenceConvMLP` whose ``state_dict()`` is the backbone.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.backbone.init_cfg = None
    arch = cfg.model.backbone.get('arch', 's')
    model = build_model(cfg)
    others = OrderedDict((k, v) for k, v in model.state_dict().items()
                         if not k.startswith('backbone.'))
    reference = ReferenceConvMLP(arch).randomize(seed)
    state_dict = OrderedDict(
        (f'backbone.{k}', v) for k, v in reference.state_dict().items())
    state_dict.update(others)
    if cfg.get('default_scope') == 'mmseg':
        meta = dict(mmseg_version='0.17.0', mmcv_version='1.3.9', iter=160000)
    else:
        meta = dict(
            mmdet_version='2.11.0', mmcv_version='1.3.9', epoch=12, iter=87960)
    if classes is not None:
        meta['CLASSES'] = tuple(classes)
    if palette is not None:
        meta['PALETTE'] = [list(c) for c in palette]
    return dict(state_dict=state_dict, meta=meta), others, reference


def own_layout(checkpoint: dict) -> dict:
    """The same weights as an authors'-layout file, in this project's layout
    (no meta): the backbone keys renamed by
    :func:`mmconvmlp.models.utils.convert_key`, whose renaming the tests
    check against the reference's forward pass."""
    from mmconvmlp.models.utils import convert_key
    out = copy.copy(checkpoint)
    out['state_dict'] = OrderedDict(
        (f'backbone.{convert_key(k[len("backbone."):])}' if k.
         startswith('backbone.') else k, v)
        for k, v in checkpoint['state_dict'].items())
    out.pop('meta', None)
    return out
