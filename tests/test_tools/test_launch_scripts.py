"""The launch scripts hand the right command line to torchrun / srun (both faked here)."""
import os
import subprocess

import pytest

from conftest import REPO_ROOT

FAKE = '#!/usr/bin/env bash\nprintf "%s\\n" "$0" "$@" > "$FAKE_LOG"\n'


@pytest.fixture
def fake_bin(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name in ('srun', 'fakepython'):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               FAKE_LOG=str(tmp_path / 'argv.txt'), PYTHON=str(bin_dir / 'fakepython'))
    return env, tmp_path / 'argv.txt'


def _run(args, env):
    proc = subprocess.run(['bash', *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize('script,pos', [('tools/slurm_train.sh', ['cfg.py']),
                                        ('tools/slurm_test.sh', ['cfg.py', 'ck.pth'])])
def test_slurm_scripts(fake_bin, script, pos):
    env, log = fake_bin
    _run([script, 'gpu', 'job', *pos, '--cfg-options', 'a=1 b'], dict(env, GPUS='16'))
    argv = log.read_text().splitlines()
    assert argv[0].endswith('srun')
    assert '--ntasks=16' in argv and '--ntasks-per-node=8' in argv and '-p' in argv
    tool = 'train.py' if 'train' in script else 'test.py'
    i = next(k for k, a in enumerate(argv) if a.endswith('tools/' + tool))
    assert argv[i + 1:] == [*pos, '--launcher', 'slurm', '--cfg-options', 'a=1 b']


@pytest.mark.parametrize('script,pos', [('tools/dist_train.sh', ['cfg.py']),
                                        ('tools/dist_test.sh', ['cfg.py', 'ck.pth'])])
def test_dist_scripts_multi_node(fake_bin, script, pos):
    env, log = fake_bin
    env = dict(env, NNODES='2', NODE_RANK='1', MASTER_ADDR='10.1.2.3', PORT='29999')
    _run([script, *pos, '4', '--work-dir', 'w d'], env)
    argv = log.read_text().splitlines()
    assert argv[1:3] == ['-m', 'torch.distributed.run']
    for flag in ('--nnodes=2', '--node_rank=1', '--master_addr=10.1.2.3',
                 '--nproc_per_node=4', '--master_port=29999'):
        assert flag in argv
    tool = 'train.py' if 'train' in script else 'test.py'
    i = next(k for k, a in enumerate(argv) if a.endswith('tools/' + tool))
    assert argv[i + 1:] == [*pos, '--launcher', 'pytorch', '--work-dir', 'w d']


def test_scripts_print_usage_without_arguments():
    for script in ('tools/dist_train.sh', 'tools/dist_test.sh', 'tools/slurm_train.sh',
                   'tools/slurm_test.sh'):
        proc = subprocess.run(['bash', script], cwd=REPO_ROOT, capture_output=True, text=True)
        assert proc.returncode == 2 and 'usage' in proc.stderr
