"""Every command and Python block of README.md and docs/*.md runs here, or
is skipped for a reason its page gives.

Run: fenced blocks in ``bash``, ``sh``, ``shell`` or ``console`` (commands)
and ``python``. A block in another language or in none (program output, file
layouts, YAML and BibTeX excerpts) is shown, not run.

Markers, HTML comments the reader does not see, on the line right before a
fence: ``<!-- skip: needs R -->``, where R is one or more of COCO, ADE20K,
a GPU, the network (``needs the network, COCO and ADE20K``): the block does
not run; ``<!-- slow -->``: it runs under ``-m slow``. A block without a
marker runs in ``make test``; another comment before a fence, an unknown
reason or a marker before a block that is not run fails.

Each block runs in a folder of its own laid out as a clone (``configs/``,
``tools/``, ``mmconvmlp/``, the Makefile), which also holds what the pages
name (:data:`INPUTS`), made once per session when a block names it: tiny
datasets in the COCO and ADE20K layouts where the configs read them,
pictures, the authors' files (random values in their key layout) and
trained work directories. Each command must exit with 0: ``python
tools/...`` runs in this process as the interpreter would run it (bash
expands its words, runpy runs the script as ``__main__``), so that the
libraries are imported once; other commands run in ``bash -e -o pipefail``
with the set-up's ``python`` first on ``PATH``, ``make`` with a ``.venv``
whose set-up is done. A Python block with an import runs as a script; one
without is a config (configs declare, they do not import), written where
its first-line comment says and loaded with ``Config.fromfile``, and its
model and custom hooks are built.

What the test changes in a command, and nothing else:

- the placeholders of :data:`SUBSTITUTIONS`; ``CHECKPOINT`` and ``CKPT``
  become a checkpoint (random weights) of the config on the same line;
- optional parts in square brackets are left out;
- trainings, tests, exports, benchmarks and profiles get the options of
  :func:`shorter` appended (documented options, ``--cfg-options`` and the
  Makefile's ``TRAIN_OPTIONS``), so that each takes seconds on the tiny
  data: one epoch or two iterations, small images, the offline ImageNet file
  of the README;
- ``make test``, ``make test-slow`` and ``make lint`` run as ``make
  --dry-run`` (the test suite cannot run itself), which prints their
  commands.
"""
import os
import os.path as osp
import re
import resource
import shlex
import subprocess
import sys
import time
from typing import List, NamedTuple, Optional

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGES = ['README.md'] + sorted(
    osp.join('docs', f)
    for f in os.listdir(osp.join(REPO, 'docs')) if f.endswith('.md'))
COMMANDS = ('bash', 'sh', 'shell', 'console')
REASONS = ('COCO', 'ADE20K', 'a GPU', 'the network')
FENCE = re.compile(r'^(\s*)(```+)\s*([\w+-]*)\s*$')
COMMENT = re.compile(r'^\s*<!--(.*)-->\s*$')
SKIP = re.compile(r'^skip: needs (.+)$')
# A placeholder -> what the block runs with.
SUBSTITUTIONS = [
    (r'\bCONFIG\b', 'configs/retinanet_convmlp_s_coco.py'),
    # the README's --data-root example: the tiny set, where the config
    # looks anyway
    (r'/data/ADEChallengeData2016', 'data/ade/ADEChallengeData2016'),
    # a 12-epoch schedule's checkpoints, written as epoch_1 by one epoch
    (r'(work_dirs/\w+)/epoch_(8|12)\.pth', r'\1/epoch_1.pth'),
]


class Block(NamedTuple):
    page: str
    line: int  # of the opening fence, from 1
    language: str
    text: str
    marker: Optional[str]  # the comment before the fence, stripped


def blocks(page: str) -> List[Block]:
    """The fenced blocks of a page, with the comment before each."""
    with open(osp.join(REPO, page)) as f:
        lines = f.read().split('\n')
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, language = match.groups()
        end = next(
            j for j in range(i + 1, len(lines)) if lines[j].strip() == fence)
        body = [line[len(indent):] for line in lines[i + 1:end]]
        comment = COMMENT.match(lines[i - 1]) if i else None
        found.append(
            Block(page, i + 1, language, '\n'.join(body) + '\n',
                  comment.group(1).strip() if comment else None))
        i = end + 1
    return found


ALL = [b for page in PAGES for b in blocks(page)]
RUN = [b for b in ALL if b.language in COMMANDS + ('python', )]


def skip_reasons(block: Block) -> Optional[List[str]]:
    """The reasons of a skip marker, or None; ValueError if a reason is not
    one of :data:`REASONS`."""
    match = SKIP.match(block.marker or '')
    if not match:
        return None
    reasons = re.split(r', | and ', match.group(1))
    unknown = [r for r in reasons if r not in REASONS]
    if unknown:
        raise ValueError(f'{block.page}:{block.line}: unknown reason(s) '
                         f'{unknown}; one of {REASONS}')
    return reasons


def test_markers_are_known_and_before_run_blocks():
    for block in ALL:
        if block.marker is None:
            continue
        where = f'{block.page}:{block.line}'
        assert block in RUN, f'{where}: a marker before a block not run'
        assert block.marker == 'slow' or skip_reasons(block), \
            f'{where}: unknown marker <!-- {block.marker} -->'


def test_blocks_are_collected():
    """The parser finds the blocks the pages have (a broken fence would
    silently hide the rest of a page)."""
    for page in PAGES:
        with open(osp.join(REPO, page)) as f:
            fences = sum(1 for line in f if FENCE.match(line))
        assert fences == 2 * sum(b.page == page for b in ALL), page
    assert len(RUN) > 40


# ---------------------------------------------------------------------------
# The folder a block runs in


def _tool(name: str):
    """The module of ``tools/<name>.py``."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        '_docs_' + name.replace('/', '_'), osp.join(REPO, 'tools',
                                                    name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _picture(path: str, seed: int) -> str:
    """A 160x120 JPEG of coloured rectangles."""
    import cv2
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
    for _ in range(3):
        x, y = rng.integers(0, 110), rng.integers(0, 70)
        image[y:y + 40, x:x + 40] = rng.integers(80, 255, 3)
    cv2.imwrite(path, image)
    return path


def _pictures(folder: str, *seeds: int) -> str:
    os.makedirs(folder)
    for seed in seeds:
        _picture(osp.join(folder, f'{seed}.jpg'), seed)
    return folder


def _video(path: str) -> str:
    import cv2
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             (160, 120))
    for seed in range(3):
        writer.write(cv2.imread(_picture(path + '.jpg', seed)))
    writer.release()
    os.remove(path + '.jpg')
    return path


def _voc(folder: str) -> str:
    os.makedirs(folder)
    for i in range(2):
        with open(osp.join(folder, f'{i}.xml'), 'w') as f:
            f.write(f'<annotation><filename>{i}.jpg</filename><size><width>'
                    '160</width><height>120</height></size><object><name>'
                    'Tree</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>'
                    '50</xmax><ymax>70</ymax></bndbox></object></annotation>')
    return folder


def _labels(folder: str) -> str:
    """raw/{train,val}/*.tif (16-bit) and raw/masks/*.png (one integer per
    object), as own_data.md's converter command reads them."""
    from PIL import Image
    for split, stem in (('train', 'a'), ('val', 'b')):
        labels = np.zeros((96, 128), np.uint8)
        for i in range(4):
            labels[10 + 20 * i:26 + 20 * i, 8 + 30 * i:28 + 30 * i] = i + 1
        os.makedirs(osp.join(folder, split), exist_ok=True)
        os.makedirs(osp.join(folder, 'masks'), exist_ok=True)
        picture = (labels > 0).astype(np.uint16) * 3000 + 200
        Image.fromarray(picture).save(osp.join(folder, split, stem + '.tif'))
        Image.fromarray(labels).save(osp.join(folder, 'masks', stem + '.png'))
    return folder


def _mydata(folder: str) -> str:
    """own_data.md's data/mydata, as its converter command writes it."""
    converter = _tool('dataset_converters/labels2coco')
    raw = _labels(folder + '_raw')
    for split, stem in (('train', 'a'), ('val', 'b')):
        picture = converter.read_picture(osp.join(raw, split, stem + '.tif'))
        labels = converter.read_picture(osp.join(raw, 'masks', stem + '.png'))
        converter.convert([(stem, picture, labels)], folder, split, 'cell')
    return folder


def _model(config: str):
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(config)
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def _authors_file(path: str, config: str, meta: Optional[dict]) -> str:
    """A whole model of ``config`` (ConvMLP-S) as the authors released it:
    the backbone under their key names (tests/data/authors_keys.json,
    recorded from their code), the rest as MMDetection / MMSegmentation name
    it."""
    import torch
    from oracle import authors_keys, rule_state_dict
    entries = [(k, s) for k, s in authors_keys()['s']
               if not k.startswith(('norm.', 'head.'))]
    state_dict = {
        'backbone.' + k: v
        for k, v in rule_state_dict(entries, np.random.default_rng(0)).items()
    }
    state_dict.update((k, v) for k, v in _model(config).state_dict().items()
                      if not k.startswith('backbone.'))
    checkpoint = dict(state_dict=state_dict)
    if meta:
        checkpoint['meta'] = meta
    torch.save(checkpoint, path)
    return path


def _imagenet_file(path: str, arch: str) -> str:
    """The authors' ConvMLP ImageNet classifier, their keys and layout."""
    import torch
    from oracle import authors_keys, rule_state_dict
    torch.save(
        rule_state_dict(authors_keys()[arch], np.random.default_rng(0)), path)
    return path


def _coco_classes():
    from mmdet.datasets import CocoDataset
    return CocoDataset.METAINFO['classes']


def _ade_meta():
    from mmseg.datasets import ADE20KDataset
    meta = ADE20KDataset.METAINFO
    return dict(CLASSES=meta['classes'], PALETTE=meta['palette'])


def _trusted(path: str) -> str:
    """A checkpoint that weights-only loading refuses (an object of a class
    outside torch's allow-list) and its owner trusts."""
    import argparse

    import torch
    torch.save(
        dict(
            meta=dict(epoch=1),
            state_dict={'backbone.stem.0.conv.weight': torch.zeros(1)},
            args=argparse.Namespace(lr=0.1)), path)
    return path


def _old(path: str) -> str:
    """A checkpoint as MMEngine writes it without PlainCheckpointHook: its
    message hub holds HistoryBuffer objects."""
    import torch
    from mmengine.logging import HistoryBuffer
    torch.save(
        dict(
            meta=dict(epoch=1, iter=2),
            state_dict={'backbone.stem.0.conv.weight': torch.zeros(1)},
            message_hub=dict(
                log_scalars={'train/loss': HistoryBuffer([1.0, 0.5], [1, 1])
                             })), path)
    return path


class Inputs:
    """What the pages name, made once per session when a block names it."""

    def __init__(self, root: str):
        self.root, self.request, self.made = root, None, {}

    def path(self, name: str) -> str:
        if name not in self.made:
            self.made[name] = self._make(name, osp.join(self.root, name))
        return self.made[name]

    def fixture(self, name: str):
        return self.request.getfixturevalue(name)

    def _make(self, name: str, path: str) -> str:
        os.makedirs(osp.dirname(path), exist_ok=True)
        if name in INPUTS:
            return INPUTS[name][1](self, path)
        assert name.startswith('checkpoint:'), name
        import torch
        config = name.split(':', 1)[1]
        path = osp.join(self.root, 'checkpoints',
                        osp.basename(config)[:-3] + '.pth')
        os.makedirs(osp.dirname(path), exist_ok=True)
        torch.save(dict(state_dict=_model(config).state_dict()), path)
        return path

    def trained(self) -> str:
        """One epoch of RetinaNet-ConvMLP-S on the tiny COCO data, with
        validation: a work directory as tools/train.py writes it."""
        if 'trained' not in self.made:
            work_dir = osp.join(self.root, 'trained')
            config = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
            assert self.fixture('tool_main')('train', [
                config, '--work-dir', work_dir, '--data-root',
                self.fixture('coco_root'), '--cfg-options',
                'model.backbone.init_cfg=None', *SHORTER_RUN['epoch'],
                *SMALL['det']
            ]) == 0
            self.made['trained'] = work_dir
        return self.made['trained']


# name in the folder -> (the words of a block that need it, maker)
INPUTS = {
    'data/coco':
    (('_coco.py', 'data/coco'), lambda i, p: i.fixture('coco_root')),
    'data/ade/ADEChallengeData2016': (('_ade20k.py', 'ADEChallengeData2016'),
                                      lambda i, p: i.fixture('ade_root')),
    'data/nuclei': (('_nuclei.py', ), lambda i, p: _tool(
        'dataset_converters/nuclei2coco').main(['--out', p]) or p),
    'data/demo':
    (('_demo.py', ), lambda i, p: _tool('misc/make_demo_data').main([
        '--out', p, '--dataset', 'coco', '--num-train', '8', '--num-val', '4'
    ]) or p),
    'data/mydata': (('configs/mine/', ), lambda i, p: _mydata(p)),
    'raw': (('raw/', ), lambda i, p: _labels(p)),
    'Annotations': (('Annotations/', ), lambda i, p: _voc(p)),
    'photo.jpg': (('photo.jpg', ), lambda i, p: _picture(p, 0)),
    'demo.jpg': (('demo.jpg', ), lambda i, p: _picture(p, 1)),
    'my_folder': (('my_folder/', ), lambda i, p: _pictures(p, 2, 3)),
    'new_images': (('new_images/', ), lambda i, p: _pictures(p, 4)),
    'clip.mp4': (('clip.mp4', ), lambda i, p: _video(p)),
    'retinanet_convmlp_s_coco.pth':
    (('retinanet_convmlp_s_coco.pth', ), lambda i, p: _authors_file(
        p, osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py'),
        dict(CLASSES=_coco_classes()))),
    'sem_fpn_convmlp_s_ade20k.pth':
    (('sem_fpn_convmlp_s_ade20k.pth', ), lambda i, p: _authors_file(
        p, osp.join(REPO, 'configs', 'fpn_convmlp_s_ade20k.py'), _ade_meta())),
    # the converter's example of a file without class names
    'SRC': ((' SRC ', ), lambda i, p: _authors_file(
        p, osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py'), None)),
    'FILE': ((' FILE ', ), lambda i, p: _trusted(p)),
    'OLD.pth': (('OLD.pth', ), lambda i, p: _old(p)),
    'epoch_12.pth': (('epoch_12.pth', ),
                     lambda i, p: osp.join(i.trained(), 'epoch_1.pth')),
}
for _arch in 'sml':  # the offline ImageNet files of shorter()
    INPUTS[f'convmlp_{_arch}_imagenet.pth'] = (
        (), lambda i, p: _imagenet_file(p,
                                        osp.basename(p).split('_')[1]))
# the work directories of curves.md and the README
for _name in ('WORK_DIR1', 'WORK_DIR2', 'work_dirs/retinanet_s',
              'work_dirs/run_a', 'work_dirs/run_b'):
    INPUTS[_name] = ((_name, ), lambda i, p: i.trained())


def _link_clone(folder: str) -> None:
    """configs/ (a folder of links, so that new configs stay here), tools/,
    mmconvmlp/ and the files the Makefile reads."""
    os.makedirs(osp.join(folder, 'configs'))
    for name in os.listdir(osp.join(REPO, 'configs')):
        os.symlink(
            osp.join(REPO, 'configs', name), osp.join(folder, 'configs', name))
    for name in ('tools', 'mmconvmlp', 'requirements', 'Makefile', 'setup.py'):
        os.symlink(osp.join(REPO, name), osp.join(folder, name))


def _venv(folder: str) -> None:
    """A .venv for the Makefile: its python is this one, and its set-up
    stamp is that of this folder's set-up inputs, so that ``make``'s set-up
    step only checks the environment (tools/setup_env.sh)."""
    os.makedirs(osp.join(folder, '.venv', 'bin'))
    python = osp.join(folder, '.venv', 'bin', 'python')
    with open(python, 'w') as f:
        f.write(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    os.chmod(python, 0o755)
    stamp = subprocess.run(
        'cat tools/setup_env.sh setup.py tools/constraints.txt | sha1sum',
        shell=True,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True).stdout[:40]
    with open(osp.join(folder, '.venv', '.mmconvmlp-setup'), 'w') as f:
        f.write(stamp + '\n')


def prepare(folder: str, block: Block, text: str, inputs: Inputs) -> None:
    """Lay out ``folder`` for ``block`` (whose command text is ``text``)."""
    _link_clone(folder)
    if re.search(r'^make ', text, re.M):
        _venv(folder)  # and no data: make's targets write it
    # the page's configs, where they say, so that its commands find them
    for other in blocks(block.page):
        path = _config_path(other)
        if path and other != block:
            _write(osp.join(folder, path), other.text)
    for name, (words, _) in INPUTS.items():
        data = name.startswith('data/')
        if re.search(r'^make ', text, re.M) and data:
            continue
        if any(w in text for w in words) and f'--out {name}' not in text:
            target = osp.join(folder, name)
            os.makedirs(osp.dirname(target), exist_ok=True)
            os.symlink(inputs.path(name), target)


def _write(path: str, text: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


# ---------------------------------------------------------------------------
# The commands

#: Appended to tools/train.py of a config with this schedule.
SHORTER_RUN = {
    'epoch': ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1'],
    'iter': [
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2'
    ],
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Appended to the tools' commands of the paper configs: small images.
SMALL = {
    'det': [
        'default_hooks.logger.interval=1', 'model.test_cfg.score_thr=0.0',
        'train_dataloader.dataset.pipeline.2.scale=(128,96)',
        'val_dataloader.dataset.pipeline.1.scale=(128,96)',
        'test_dataloader.dataset.pipeline.1.scale=(128,96)'
    ] + [f'{loader}.num_workers=0' for loader in LOADERS] +
    [f'{loader}.persistent_workers=False' for loader in LOADERS],
    'seg': [
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.dataset.pipeline.2.scale=(128,64)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'val_dataloader.dataset.pipeline.1.scale=(128,96)',
        'test_dataloader.dataset.pipeline.1.scale=(128,96)'
    ] + [f'{loader}.num_workers=0' for loader in LOADERS] +
    [f'{loader}.persistent_workers=False' for loader in LOADERS],
}
PAPER = re.compile(r'^configs/\w+_convmlp_([sml])_(coco|ade20k)\.py$')


def _config_kind(folder: str, config: str):
    """(``'det'``/``'seg'`` for a paper config else None, its ConvMLP arch,
    ``'epoch'`` or ``'iter'``)."""
    from mmengine.config import Config
    paper = PAPER.match(config)
    small = paper and ('det' if paper.group(2) == 'coco' else 'seg')
    cfg = Config.fromfile(osp.join(folder, config))
    return (small, paper and paper.group(1),
            'iter' if 'max_iters' in cfg.train_cfg else 'epoch')


#: A detector trained for two iterations scores every box under the
#: configs' thresholds; its validation (which demo-compare reads) needs some.
DEMO_SCORES = {
    'retinanet': ['model.test_cfg.score_thr=0.0'],
    'maskrcnn': ['model.test_cfg.rcnn.score_thr=0.0'],
}
#: What ``make --dry-run TARGET`` prints.
DRY_RUN = {
    'test': 'pytest tests -m "not slow"',
    'test-slow': 'pytest tests -m slow',
    'lint': 'tools/lint.sh'
}


def shorter(line: str, folder: str, inputs: Inputs) -> str:
    """``line`` with the options that make it take seconds here."""
    if re.match(r'make (demo|demo-compare)\b', line):
        model = re.search(r'MODEL=(\w+)', line)
        options = ['default_hooks.logger.interval=1'] + DEMO_SCORES.get(
            model.group(1) if model else 'retinanet', [])
        if 'DATA=shapes' in line:  # 100 training pictures an epoch
            options += SHORTER_RUN['epoch'] + [
                'train_dataloader.dataset.indices=8',
                'val_dataloader.dataset.indices=5'
            ]
        else:
            options += SHORTER_RUN['iter']
        return line + ' TRAIN_OPTIONS=' + shlex.quote(
            ' '.join(['--cfg-options'] + options))
    if line.startswith('make '):
        # The test suite cannot run itself: make prints what it would run.
        return line.replace('make ', 'make --dry-run ', 1)
    tool = re.search(r'tools/([\w/]+)\.py', line)
    config = re.search(r'\bconfigs/[\w/.-]+\.py\b', line)
    tool = tool and tool.group(1)
    extra = []
    if tool == 'analysis_tools/benchmark':
        extra = ['--quick']  # 224x224, 0.1 s per measurement, one round
    elif tool == 'analysis_tools/get_flops':
        extra = ['--shape', '128', '128']
    elif tool == 'analysis_tools/profile_step':
        extra = ['--steps', '1']
    elif tool in ('train', 'test', 'infer', 'deployment/pytorch2onnx'):
        small, arch, run = _config_kind(folder, config.group(0))
        options = SMALL[small] if small else []
        if tool == 'train':
            options = options + SHORTER_RUN[run] + [
                'default_hooks.logger.interval=1'
            ]
            if small:  # the README's offline ImageNet file
                options.append('model.backbone.init_cfg.checkpoint=' +
                               inputs.path(f'convmlp_{arch}_imagenet.pth'))
        if tool == 'deployment/pytorch2onnx':
            extra = ['--shape', '96', '128']
        if options:
            extra += ['--cfg-options', *options]
    return ' '.join([line] + [shlex.quote(e) for e in extra])


def commands(block: Block) -> List[str]:
    """The block's commands, one a line, without comments, optional parts
    and placeholders (:data:`SUBSTITUTIONS`)."""
    text = block.text
    if block.language == 'console':
        text = '\n'.join(line[2:] for line in text.split('\n')
                         if line.startswith('$ '))
    lines = []
    for line in text.replace('\\\n', ' ').split('\n'):
        line = re.sub(r'(^|\s)#.*$', '', line).strip()  # comments
        line = re.sub(r'\s*\[[^\]]*\]', '', line)  # optional parts
        for pattern, value in SUBSTITUTIONS:
            line = re.sub(pattern, value, line)
        if line:
            lines.append(line)
    return lines


def command_script(lines: List[str], folder: str, inputs: Inputs) -> List[str]:
    """The commands as the test runs them (see the module)."""
    script = []
    for line in lines:
        config = re.search(r'\bconfigs/[\w/.-]+\.py\b', line)
        if re.search(r'\b(CHECKPOINT|CKPT)\b', line):
            path = inputs.path('checkpoint:' + osp.join(REPO, config.group(0)))
            line = re.sub(r'\b(CHECKPOINT|CKPT)\b', path, line)
        script.append(shorter(line, folder, inputs))
    return script


def run_script(argv: List[str]) -> int:
    """``python *argv`` in this process, so that the libraries are imported
    once: runpy runs the script as ``__main__`` with ``sys.argv`` and its
    folder first on ``sys.path``, as the interpreter does; the exit
    status."""
    import runpy

    from batches import reset_mmengine_globals
    reset_mmengine_globals()
    argv_before, path_before = sys.argv, sys.path[:]
    sys.argv = list(argv)
    sys.path.insert(0, osp.dirname(osp.abspath(argv[0])))
    try:
        runpy.run_path(argv[0], run_name='__main__')
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)  # sys.exit('message')
        return 1
    finally:
        sys.argv, sys.path[:] = argv_before, path_before
    return 0


# ---------------------------------------------------------------------------
# Python


def _config_path(block: Block) -> Optional[str]:
    """Where a config block goes: its first-line comment's path, else
    configs/docs_snippet.py; None for a block that is not a config."""
    if block.language != 'python' or re.search(r'^\s*(import|from) ',
                                               block.text, re.M):
        return None
    first = re.match(r'#\s*(\S+\.py)\s*\n', block.text)
    return first.group(1) if first else 'configs/docs_snippet.py'


def check_config(path: str) -> None:
    """Load a config block and build what it declares."""
    from mmengine.config import Config
    from mmengine.registry import HOOKS, MODELS, DefaultScope
    from mmengine.utils import import_modules_from_strings

    import mmconvmlp  # noqa: F401  (the hooks' registry)
    cfg = Config.fromfile(path)
    import_modules_from_strings(**cfg.get('custom_imports', dict(imports=[])))
    assert 'model' in cfg or 'custom_hooks' in cfg, path
    for hook in cfg.get('custom_hooks', []):
        HOOKS.build(dict(hook))
    if 'model' in cfg:
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            MODELS.build(cfg.model)


# ---------------------------------------------------------------------------


@pytest.fixture(scope='session')
def session_inputs(tmp_path_factory):
    return Inputs(str(tmp_path_factory.mktemp('docs_inputs')))


@pytest.fixture
def inputs(session_inputs, request):
    # the other fixtures (the tiny datasets) through the running test's
    # request: a session fixture's request ends with its set-up
    session_inputs.request = request
    return session_inputs


def _param(block: Block):
    marks = [pytest.mark.slow] if block.marker == 'slow' else []
    return pytest.param(block, id=f'{block.page}:{block.line}', marks=marks)


@pytest.mark.parametrize('block', [_param(b) for b in RUN])
def test_block(block, inputs, tmp_path, monkeypatch):
    reasons = skip_reasons(block)  # an unknown reason fails here
    if reasons:
        pytest.skip('needs ' + ', '.join(reasons))
    folder = str(tmp_path / 'clone')
    os.makedirs(folder)
    before = _repo_entries()
    # The tools and the configs' SafeLoadingHook make MMEngine's loaders
    # weights-only for the process: for this test only.
    from mmengine.runner.checkpoint import CheckpointLoader
    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        CheckpointLoader._schemes.copy())
    if block.language == 'python':
        config = _config_path(block)
        prepare(folder, block, '' if config else block.text, inputs)
        monkeypatch.chdir(folder)
        if config:
            _write(config, block.text)
            check_config(config)
        else:
            exec(
                compile(block.text, f'{block.page}:{block.line}', 'exec'),
                {'__name__': '__main__'})
    else:
        lines = commands(block)
        prepare(folder, block, '\n'.join(lines), inputs)
        monkeypatch.chdir(folder)
        monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
        env = dict(
            os.environ,
            PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
            PYTHONPATH=REPO,
            MPLBACKEND='Agg')
        for line in command_script(lines, folder, inputs):
            start = _clock()
            if line.startswith('python tools/'):
                assert run_script(_words(line, env)[1:]) == 0, line
                print(_took(start, line))
                continue
            result = subprocess.run(
                ['bash', '-e', '-o', 'pipefail', '-c', line],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600)
            assert result.returncode == 0, (
                f'{line}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}')
            print(_took(start, line))
            target = line.split()[-1]
            if line.startswith('make --dry-run') and target in DRY_RUN:
                assert DRY_RUN[target] in result.stdout, result.stdout
    assert _repo_entries() == before, 'the block wrote into the repository'


def _clock():
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.perf_counter(),
            time.process_time() + children.ru_utime + children.ru_stime)


def _took(start, line: str) -> str:
    """The wall and CPU time since ``start``: the second is what to compare
    when other jobs share the machine."""
    wall, cpu = (now - then for now, then in zip(_clock(), start))
    return f'{wall:.1f} s ({cpu:.1f} s CPU): {line}'


def _words(line: str, env: dict) -> List[str]:
    """The words of a command line as bash expands them (quotes, globs,
    ``$(...)``)."""
    result = subprocess.run(['bash', '-c', 'printf "%s\\0" ' + line],
                            env=env,
                            capture_output=True,
                            text=True,
                            check=True)
    return result.stdout.split('\0')[:-1]


def _repo_entries() -> set:
    """What is at the top of the repository and in configs/, data/ and
    work_dirs/, where a command run from the wrong folder would write."""
    return set(os.listdir(REPO)) | {
        f'{folder}/{name}'
        for folder in ('configs', 'data', 'work_dirs')
        if osp.isdir(osp.join(REPO, folder))
        for name in os.listdir(osp.join(REPO, folder))
    }
