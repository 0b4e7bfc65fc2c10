"""The launch scripts start the real tools: tools/slurm_{train,test}.sh
through an srun stand-in that runs its command as srun would (its options
dropped), tools/dist_test.sh through torchrun; the tools parse what the
scripts built (``--help`` appended, so nothing trains). CPU DDP training
through tools/dist_train.sh is tested in test_train_test.py (slow)."""
import os
import subprocess
import sys

import pytest

SRUN = '''#!/usr/bin/env bash
while [ $# -gt 0 ]; do  # srun's own options, as srun parses them
    case $1 in
        -[pJnNctw]) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
exec "$@"
'''


@pytest.fixture
def env(tmp_path):
    """This Python as $PYTHON and an srun stand-in on PATH."""
    (tmp_path / 'srun').write_text(SRUN)
    (tmp_path / 'srun').chmod(0o755)
    return dict(
        os.environ,
        PYTHON=sys.executable,
        PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')


def run(repo_root, env, script, *args):
    return subprocess.run(['bash', f'tools/{script}', *args],
                          capture_output=True,
                          text=True,
                          env=env,
                          cwd=repo_root,
                          timeout=300)


@pytest.mark.parametrize('script,args,tool', [
    ('slurm_train.sh', ['dev', 'job', 'configs/x.py', 'work dir'], 'train'),
    ('slurm_test.sh', ['dev', 'job', 'configs/x.py', 'x.pth'], 'test'),
])
def test_slurm_scripts_start_the_tool(repo_root, env, script, args, tool):
    result = run(repo_root, env, script, *args, '--help')
    assert result.returncode == 0, result.stderr[-2000:]
    assert f'usage: {tool}.py' in result.stdout


def test_dist_test_starts_the_tool_under_torchrun(repo_root, env):
    import socket
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(('127.0.0.1', 0))
        port = str(sock.getsockname()[1])
    result = run(repo_root, dict(env, PORT=port), 'dist_test.sh',
                 'configs/x.py', 'x.pth', '1', '--help')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'usage: test.py' in result.stdout


def test_usage(repo_root, env):
    result = run(repo_root, env, 'slurm_train.sh', 'dev')
    assert result.returncode == 2 and 'usage:' in result.stderr
