"""The output guard (mmconvmlp.utils.outputs) and every writer that uses it:
a user's file in the target is named, the writer stops, and the file
survives byte for byte; --overwrite and make clean remove only what the
project wrote."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from mmconvmlp.utils import (MANIFEST, OutputError, output_dir, output_file,
                             remove_written)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
USER_BYTES = b'a file of the user\n'


def user_file(path):
    """A user's file at ``path``; returns a check that it is intact."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(USER_BYTES)
    return lambda: open(path, 'rb').read() == USER_BYTES


def tree(root):
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, files in os.walk(root)
        for f in files)


def test_a_folder_with_a_users_file_is_refused(tmp_path):
    intact = user_file(str(tmp_path / 'coco' / 'train2017' / 'mine.jpg'))
    for overwrite in (False, True):
        with pytest.raises(OutputError) as e:
            with output_dir(
                    str(tmp_path / 'coco'), 'writer', overwrite=overwrite):
                raise AssertionError('the body must not run')
        assert str(tmp_path / 'coco' / 'train2017' / 'mine.jpg') in str(
            e.value)
        assert 'found 1 file(s): ' in str(e.value)
    assert intact() and tree(tmp_path) == ['coco/train2017/mine.jpg']


def test_overwrite_removes_only_the_earlier_runs_files(tmp_path):
    root = str(tmp_path / 'out')
    with output_dir(root, 'writer'):
        for name in ('a/1.jpg', 'a/2.jpg', 'b.json'):
            os.makedirs(osp.dirname(osp.join(root, name)), exist_ok=True)
            open(osp.join(root, name), 'w').close()
    with pytest.raises(OutputError, match='Pass --overwrite'):
        with output_dir(root, 'writer'):
            pass
    with output_dir(root, 'writer', overwrite=True):
        assert tree(root) == []  # the earlier run's files are gone
        open(osp.join(root, 'c.json'), 'w').close()
    assert tree(root) == ['.mmconvmlp-written.json', 'c.json']
    # A user's file added later: refused even with --overwrite, kept.
    intact = user_file(osp.join(root, 'a', 'notes.txt'))
    with pytest.raises(OutputError, match='notes.txt'):
        with output_dir(root, 'writer', overwrite=True):
            pass
    assert intact() and osp.isfile(osp.join(root, 'c.json'))


def test_work_dirs_keep_earlier_runs_and_record_after_an_error(tmp_path):
    root = str(tmp_path / 'work')
    user_file(osp.join(root, 'epoch_1.pth'))  # MMEngine's name: accepted
    accept = {'epoch_1.pth'}.__contains__
    with pytest.raises(RuntimeError, match='stopped'):
        with output_dir(root, 'train', fresh=False, accept=accept):
            open(osp.join(root, 'log.txt'), 'w').close()
            raise RuntimeError('stopped')
    with output_dir(root, 'train', fresh=False, accept=accept):
        open(osp.join(root, 'epoch_2.pth'), 'w').close()
    left = remove_written(root)  # what make clean does
    assert left == ['epoch_1.pth']  # accepted, never recorded, so kept
    assert tree(root) == ['epoch_1.pth']


def test_manifest_entries_outside_the_folder_delete_nothing(tmp_path):
    intact = user_file(str(tmp_path / 'outside.txt'))
    os.makedirs(tmp_path / 'out' / 'sub')
    os.symlink(tmp_path, tmp_path / 'out' / 'link')
    with open(tmp_path / 'out' / MANIFEST, 'w') as f:
        f.write('{"files": ["../outside.txt", "link/outside.txt", "link"]}')
    assert remove_written(str(tmp_path / 'out')) == []
    assert intact()  # only the link itself was listed and removed
    assert not osp.exists(tmp_path / 'out')


def test_output_file(tmp_path):
    intact = user_file(str(tmp_path / 'curves.png'))
    with pytest.raises(OutputError, match='curves.png'):
        output_file(str(tmp_path / 'curves.png'), 'plot')
    assert intact()
    mine = str(tmp_path / 'mine.png')
    assert output_file(mine, 'plot') == mine
    open(mine, 'w').close()
    assert output_file(mine, 'plot') == mine  # its own file: replaced
    assert remove_written(str(tmp_path)) == ['curves.png']
    assert intact()


def test_demo_data_writer_keeps_a_users_coco_and_ade20k(tmp_path, capsys):
    sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
    import make_demo_data
    checks = [
        user_file(str(tmp_path / 'coco' / 'train2017' / '000000000001.jpg')),
        user_file(
            str(tmp_path / 'ade' / 'ADEChallengeData2016' / 'images' /
                'training' / 'ADE_train_00000001.jpg'))
    ]
    small = ['--num-train', '1', '--num-val', '1', '--image-size', '64']
    for dataset, intact in zip(('coco', 'ade20k'), checks):
        assert make_demo_data.main(
            ['--out',
             str(tmp_path), '--dataset', dataset, '--overwrite'] + small) == 1
        assert 'that it did not write' in capsys.readouterr().err
        assert intact()
    assert len(tree(tmp_path)) == 2


def test_nuclei_converter_keeps_a_users_file(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        '_nuclei2coco',
        osp.join(REPO, 'tools', 'dataset_converters', 'nuclei2coco.py'))
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    if converter.find_source() is None:
        pytest.skip('stardist is not installed')
    intact = user_file(str(tmp_path / 'images' / 'train' / 'img2d_tl.png'))
    assert converter.main(['--out', str(tmp_path), '--overwrite']) == 1
    assert str(tmp_path / 'images' / 'train' / 'img2d_tl.png') in \
        capsys.readouterr().err
    assert intact() and tree(tmp_path) == ['images/train/img2d_tl.png']


def test_make_clean_removes_only_what_the_project_wrote(tmp_path):
    for name in ('Makefile', 'tools/misc/clean.py',
                 'mmconvmlp/utils/outputs.py'):
        os.makedirs(tmp_path / osp.dirname(name), exist_ok=True)
        shutil.copy(osp.join(REPO, name), tmp_path / name)
    with output_dir(
            str(tmp_path / 'work_dirs' / 'run'), 'train', False, False):
        open(tmp_path / 'work_dirs' / 'run' / 'epoch_1.pth', 'w').close()
    with output_dir(str(tmp_path / 'data' / 'demo' / 'coco'), 'demo'):
        open(tmp_path / 'data' / 'demo' / 'coco' / 'a.json', 'w').close()
    checks = [
        user_file(str(tmp_path / 'work_dirs' / 'run' / 'notes.txt')),
        user_file(str(tmp_path / 'data' / 'nuclei' / 'mine.png'))
    ]
    result = subprocess.run(['make', 'clean', 'PY=/nonexistent/python'],
                            cwd=tmp_path,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert all(intact() for intact in checks)
    assert 'work_dirs/run/notes.txt, which mmconvmlp did not write' in \
        result.stdout
    assert 'data/nuclei/mine.png' in result.stdout
    assert not osp.exists(tmp_path / 'data' / 'demo')
    assert tree(tmp_path / 'work_dirs') == ['run/notes.txt']


def test_a_work_dir_of_the_stock_tools_is_claimed(tmp_path):
    """What MMEngine's runner writes into a work directory (no manifest) is
    accepted, kept by make clean, and anything else refused."""
    from mmengine.config import Config

    from mmconvmlp.utils import claim_work_dir
    config = tmp_path / 'my_cfg.py'
    config.write_text('x = 1\n')
    work = tmp_path / 'work'
    runner_files = [
        '20260101_120000/vis_data/scalars.json', '20260101_120000.py',
        'my_cfg.py', 'epoch_3.pth', 'iter_200.pth',
        'best_coco_bbox_mAP_epoch_2.pth', 'last_checkpoint'
    ]
    for name in runner_files:
        user_file(str(work / name))
    cfg = Config(dict(work_dir=str(work)), filename=str(config))
    with claim_work_dir(cfg, 'tools/train.py'):
        (work / 'epoch_4.pth').write_text('new')
    assert remove_written(str(work)) == sorted(runner_files)
    user_file(str(work / 'epoch_3.pth.bak'))
    with pytest.raises(OutputError, match=r'epoch_3\.pth\.bak that it did'):
        with claim_work_dir(cfg, 'tools/train.py'):
            pass
