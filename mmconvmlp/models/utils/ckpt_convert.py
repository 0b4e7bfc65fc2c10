# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The authors' ConvMLP key layout and this project's.

The authors' files (https://github.com/SHI-Labs/Convolutional-MLPs) name the
stem ``tokenizer.block.{0..8}`` (conv, BN, ReLU three times), the conv stage
``conv_stages``, and the MLP sub-layers ``channel_mlp{1,2}``, ``connect`` and
``connect_norm``; classifiers add ``norm`` and ``head``. Their mmdet 2.x /
mmseg 0.x files keep the model under ``state_dict`` with a ``backbone.``
prefix and the class names in ``meta['CLASSES']`` / ``meta['PALETTE']``.
The layout is checked against the names the original code generates
(tests/data/authors_keys.json).
"""
import re
from typing import Optional

# (authors' prefix, this project's prefix) relative to the backbone; '#' is
# an index carried over. No authors' prefix starts a name of this project's
# layout, so converting twice changes nothing.
_LAYOUTS = [
    *((f'tokenizer.block.{3 * i + j}.', f'stem.{i}.{layer}.') for i in range(3)
      for j, layer in enumerate(('conv', 'bn'))),
    *((f'conv_stages.conv_blocks.#.{3 * i + j}.',
       f'conv_stage.blocks.#.layers.{i}.{layer}.') for i in range(3)
      for j, layer in enumerate(('conv', 'bn'))),
    ('conv_stages.downsample.', 'conv_stage.downsample.'),
    ('stages.#.downsample_mlp.downsample.', 'stages.#.downsample.'),
    ('stages.#.blocks.#.channel_mlp1.', 'stages.#.blocks.#.mlp1.'),
    ('stages.#.blocks.#.channel_mlp2.', 'stages.#.blocks.#.mlp2.'),
    ('stages.#.blocks.#.connect_norm.', 'stages.#.blocks.#.norm_dw.'),
    ('stages.#.blocks.#.connect.', 'stages.#.blocks.#.dwconv.'),
]
_CLASSIFIER = re.compile(r'^(norm|head)\.')


def _rules(forward: bool) -> list:
    rules = []
    for authors, project in _LAYOUTS:
        src, dst = (authors, project) if forward else (project, authors)
        pattern = '^' + re.escape(src).replace(r'\#', r'(\d+)')
        groups = iter(range(1, 10))  # '#' -> \1, \2, ... in order
        rules.append((re.compile(pattern),
                      re.sub('#', lambda _: f'\\{next(groups)}', dst)))
    return rules


_TO_PROJECT, _TO_AUTHORS = _rules(True), _rules(False)


def _rename(rules: list, name: str) -> str:
    for pattern, repl in rules:
        new, n = pattern.subn(repl, name, count=1)
        if n:
            return new
    return name


def convert_key(name: str) -> Optional[str]:
    """One backbone key in this project's layout.

    Args:
        name (str): A key relative to the backbone in either layout, e.g.
            ``'tokenizer.block.0.weight'``.

    Returns:
        str | None: ``'stem.0.conv.weight'``; a key already in this layout
        comes back unchanged; None for the classifier's ``norm.*`` and
        ``head.*``. Idempotent.
    """
    return None if _CLASSIFIER.match(name) else _rename(_TO_PROJECT, name)


def original_key(name: str) -> str:
    """The authors' name of a backbone key (inverse of :func:`convert_key`),
    for messages about an authors' file."""
    return _rename(_TO_AUTHORS, name)


def convert_state_dict_keys(state_dict: dict, prefix: str = '') -> bool:
    """Rename in place, keeping the order, the keys of one ConvMLP.

    Args:
        state_dict (dict): Keys to tensors; only keys under ``prefix`` are
            touched; its classifier keys (``prefix + 'norm.*'`` /
            ``'head.*'``) are removed.
        prefix (str): Where the ConvMLP sits, e.g. ``'backbone.'``.
            Defaults to ``''``.

    Returns:
        bool: Whether any key was in the authors' layout.
    """
    renamed, items = False, []
    for key, value in state_dict.items():
        if key.startswith(prefix):
            name = key[len(prefix):]
            new = convert_key(name)
            if new is None:
                continue
            if new != name:
                key, renamed = prefix + new, True
        items.append((key, value))
    if renamed or len(items) != len(state_dict):
        state_dict.clear()  # keeps an OrderedDict's _metadata
        state_dict.update(items)
    return renamed


def convert_meta(meta: Optional[dict],
                 dataset_meta: Optional[dict] = None) -> dict:
    """MMEngine-style ``meta`` from any ConvMLP checkpoint's.

    mmdet 2.x / mmseg 0.x ``meta['CLASSES']`` and ``meta['PALETTE']`` move to
    ``meta['dataset_meta']`` (``classes``, ``palette``), where MMDetection 3
    and MMSegmentation 1 read them first. Idempotent.

    Args:
        meta (dict, optional): The file's ``meta``.
        dataset_meta (dict, optional): Class names (and palette) to write
            where the file has none, e.g. a config's test dataset's.

    Returns:
        dict: The new ``meta``; the input is not modified.
    """
    out = dict(meta or {})
    names = {k.lower(): v for k, v in (out.get('dataset_meta') or {}).items()}
    for old, new in (('CLASSES', 'classes'), ('PALETTE', 'palette')):
        value = out.pop(old, None)
        if value is not None:
            names.setdefault(new, value)
    if 'classes' not in names and dataset_meta:
        names = {**{k.lower(): v for k, v in dataset_meta.items()}, **names}
    if names:
        out['dataset_meta'] = names
    return out
