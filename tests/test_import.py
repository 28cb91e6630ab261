"""``import sfmm`` has no side effects (no output, no environment reads, no frameworks)."""
import subprocess
import sys
import textwrap


def test_import_sfmm_has_no_side_effects():
    """``import sfmm`` prints nothing, reads no environment variable and imports no
    framework (registries and models load lazily)."""
    code = textwrap.dedent('''
        import os, sys
        reads = []
        class Spy(type(os.environ)):
            def __getitem__(self, key):
                reads.append(key); return super().__getitem__(key)
            def get(self, key, default=None):
                reads.append(key); return super().get(key, default)
            def __contains__(self, key):
                reads.append(key); return super().__contains__(key)
        spy = Spy(os.environ._data, os.environ.encodekey, os.environ.decodekey,
                  os.environ.encodevalue, os.environ.decodevalue)
        os.environ = spy
        before = set(sys.modules)
        import sfmm
        new = set(sys.modules) - before
        assert sfmm.__version__
        heavy = sorted(m for m in new if m.split('.')[0] in
                       ('torch', 'mmengine', 'mmcv', 'mmpretrain', 'mmseg', 'open_clip'))
        sys.stderr.write(repr((reads, heavy)))
    ''')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ''
    reads, heavy = eval(proc.stderr)
    assert reads == []
    assert heavy == []
