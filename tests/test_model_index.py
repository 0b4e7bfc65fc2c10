"""model-index.yml and configs/metafile.yml describe the nine paper configs:
the configs exist, the counted parameters (and, slow, MACs) are those of the
built models, tasks and datasets agree with the configs."""
import glob
import os.path as osp

import pytest
from mmengine import load
from mmengine.config import Config

from mmconvmlp.testing.batches import build_model, num_params
from mmconvmlp.utils import codebase_of
from mmconvmlp.utils.complexity import config_complexity

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
WEIGHTS = 'https://shi-labs.com/projects/convmlp/checkpoints/'


def metafiles():
    index = load(osp.join(REPO, 'model-index.yml'))
    return [load(osp.join(REPO, path)) for path in index['Import']]


MODELS = {m['Name']: m for meta in metafiles() for m in meta['Models']}


def test_index_lists_every_paper_config():
    configs = sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(REPO, 'configs', '*.py')))
    assert sorted(MODELS) == configs and len(configs) == 9
    collections = {
        c['Name']: c
        for meta in metafiles()
        for c in meta['Collections']
    }
    for collection in collections.values():
        assert collection['Paper']['URL'] == 'https://arxiv.org/abs/2109.04454'
        assert collection['Code']['URL'].startswith('https://github.com/')
        assert osp.isfile(osp.join(REPO, collection['README']))
    for model in MODELS.values():
        assert model['In Collection'] in collections


@pytest.mark.parametrize('name', sorted(MODELS))
def test_model_entry_matches_its_config(name):
    model = MODELS[name]
    path = osp.join(REPO, model['Config'])
    assert osp.isfile(path) and osp.splitext(osp.basename(path))[0] == name
    cfg = Config.fromfile(path)
    tasks = {r['Task']: r for r in model['Results']}
    if codebase_of(cfg) == 'mmseg':
        assert set(tasks) == {'Semantic Segmentation'}
        dataset = 'ADE20K'
        assert cfg.train_dataloader.dataset.type == 'ADE20KDataset'
        assert model['Metadata']['Iterations'] == cfg.train_cfg.max_iters
        assert set(tasks['Semantic Segmentation']['Metrics']) == {'mIoU'}
        assert model['Weights'].startswith(WEIGHTS + 'segmentation/')
    else:
        with_mask = 'mask_head' in cfg.model.get('roi_head', {})
        assert set(tasks) == ({'Object Detection', 'Instance Segmentation'}
                              if with_mask else {'Object Detection'})
        dataset = 'COCO'
        assert cfg.train_dataloader.dataset.type == 'CocoDataset'
        assert model['Metadata']['Epochs'] == cfg.train_cfg.max_epochs
        assert model['Weights'] == WEIGHTS + f'detection/{name}.pth'
    assert all(r['Dataset'] == dataset for r in model['Results'])
    assert model['Metadata']['Training Data'] == dataset
    assert model['Metadata']['FLOPs'] == 2 * model['Metadata']['MACs']

    cfg.model.backbone.init_cfg = None
    params = num_params(build_model(cfg))
    assert abs(params - model['Metadata']['Parameters']) <= 0.05e6


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(MODELS))
def test_model_entry_macs_are_counted(name):
    """The MACs are get_flops' at the default input size."""
    model = MODELS[name]
    cfg = Config.fromfile(osp.join(REPO, model['Config']))
    result = config_complexity(cfg)
    assert result.macs == pytest.approx(model['Metadata']['MACs'], rel=1e-3)
    assert result.params == model['Metadata']['Parameters']
