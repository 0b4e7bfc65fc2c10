"""model-index.yml and configs/metafile.yml list the nine paper configs with
the parameter counts of the models they build."""
import glob
import os.path as osp

import pytest
from mmengine import load
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENTRIES = {
    m['Name']: m
    for path in load(osp.join(REPO, 'model-index.yml'))['Import']
    for m in load(osp.join(REPO, path))['Models']
}


def test_index_lists_every_paper_config():
    configs = sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(REPO, 'configs', '*.py')))
    assert sorted(ENTRIES) == configs and len(configs) == 9


@pytest.mark.parametrize('name', sorted(ENTRIES))
def test_entry_counts_the_parameters_of_its_config(name):
    cfg = Config.fromfile(osp.join(REPO, ENTRIES[name]['Config']))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    assert abs(params - ENTRIES[name]['Metadata']['Parameters']) <= 0.05e6
