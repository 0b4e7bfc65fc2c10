"""tools/slurm_{train,test}.sh and tools/dist_{train,test}.sh build the
commands of the OpenMMLab convention with the project's Python; srun and the
Python are replaced by scripts that print their arguments."""
import os
import shutil
import stat
import subprocess

import pytest

SCRIPTS = ('slurm_train.sh', 'slurm_test.sh', 'slurm_launch.sh',
           'dist_train.sh', 'dist_test.sh', 'python_env.sh')


def fake(path, name):
    """An executable that prints its name and arguments, one per line."""
    path.write_text('#!/usr/bin/env bash\necho "%s"\nprintf "%%s\\n" "$@"\n'
                    'echo "PYTHONPATH=$PYTHONPATH"\n' % name)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def clone(tmp_path, repo_root):
    """The launch scripts in a clone of their own, a fake srun on PATH."""
    tools = tmp_path / 'repo' / 'tools'
    tools.mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy2(os.path.join(repo_root, 'tools', name), tools / name)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake(bin_dir / 'srun', 'srun')
    fake(bin_dir / 'python', 'python')
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('PYTHON', 'GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK',
                     'SRUN_ARGS')
    }
    env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
    env['PYTHONPATH'] = '/elsewhere'
    return tmp_path / 'repo', env


def run(clone, script, *args, **env):
    repo, base_env = clone
    result = subprocess.run(
        ['bash', str(repo / 'tools' / script), *args],
        capture_output=True,
        text=True,
        env=dict(base_env, **env),
        cwd=str(repo.parent))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_slurm_train_command(clone):
    repo = clone[0]
    lines = run(
        clone,
        'slurm_train.sh',
        'dev',
        'convmlp_s',
        'configs/retinanet_convmlp_s_coco.py',
        'work_dirs/r s',
        '--amp',
        '--cfg-options',
        'train_dataloader.batch_size=4',
        GPUS='16',
        GPUS_PER_NODE='4',
        CPUS_PER_TASK='6',
        SRUN_ARGS='--quotatype=auto --time=1:00:00')
    assert lines == [
        'srun', '-p', 'dev', '--job-name=convmlp_s', '--gres=gpu:4',
        '--ntasks=16', '--ntasks-per-node=4', '--cpus-per-task=6',
        '--kill-on-bad-exit=1', '--quotatype=auto', '--time=1:00:00', 'python',
        '-u', f'{repo}/tools/train.py', 'configs/retinanet_convmlp_s_coco.py',
        '--work-dir=work_dirs/r s', '--launcher=slurm', '--amp',
        '--cfg-options', 'train_dataloader.batch_size=4',
        f'PYTHONPATH={repo}:/elsewhere'
    ]


def test_slurm_test_command_defaults_and_project_python(clone):
    repo = clone[0]
    venv_python = repo / '.venv' / 'bin' / 'python'
    venv_python.parent.mkdir(parents=True)
    fake(venv_python, 'venv python')
    lines = run(clone, 'slurm_test.sh', 'dev', 'eval',
                'configs/fpn_convmlp_s_ade20k.py', 'latest.pth')
    assert lines == [
        'srun', '-p', 'dev', '--job-name=eval', '--gres=gpu:8', '--ntasks=8',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        str(venv_python), '-u', f'{repo}/tools/test.py',
        'configs/fpn_convmlp_s_ade20k.py', 'latest.pth', '--launcher=slurm',
        f'PYTHONPATH={repo}:/elsewhere'
    ]


@pytest.mark.parametrize('script,args,tool,tail', [
    ('dist_train.sh', ['cfg.py', '2', '--amp'], 'train.py',
     ['cfg.py', '--launcher', 'pytorch', '--amp']),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '2'], 'test.py',
     ['cfg.py', 'ckpt.pth', '--launcher', 'pytorch']),
])
def test_dist_scripts_use_the_project_python(clone, script, args, tool, tail):
    repo = clone[0]
    lines = run(clone, script, *args, PORT='29555')
    assert lines[:2] == ['python', '-m']  # no .venv: python from PATH
    venv_python = repo / '.venv' / 'bin' / 'python'
    venv_python.parent.mkdir(parents=True)
    fake(venv_python, 'venv python')
    lines = run(clone, script, *args, PORT='29555')
    assert lines[0] == 'venv python'
    assert '--master_port=29555' in lines and '--nproc_per_node=2' in lines
    assert lines[-len(tail) - 2:] == [
        f'{repo}/tools/{tool}', *tail, f'PYTHONPATH={repo}:/elsewhere'
    ]
    explicit = run(clone, script, *args, PYTHON='python')
    assert explicit[0] == 'python'  # $PYTHON wins


def test_usage(clone):
    repo, env = clone
    result = subprocess.run(
        ['bash', str(repo / 'tools' / 'slurm_train.sh'), 'dev'],
        capture_output=True,
        text=True,
        env=env)
    assert result.returncode == 2 and 'usage:' in result.stderr
