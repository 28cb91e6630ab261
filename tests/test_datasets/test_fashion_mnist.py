"""Fashion-MNIST from a Debian package: fetch, verify, unpack, read, and the clear errors for
a missing tool, a corrupt package and a corrupt file. The package is fabricated here (a real
``ar`` archive holding a ``data.tar.xz`` with tiny IDX files), with its own checksum."""
import gzip
import hashlib
import io
import os
import os.path as osp
import tarfile

import numpy as np
import pytest

from sfmm.datasets import fashion_mnist as fm


def _idx(arr: np.ndarray) -> bytes:
    head = bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, '>u4').tobytes()
    return gzip.compress(head + arr.astype(np.uint8).tobytes())


def _ar(members):
    out = io.BytesIO()
    out.write(b'!<arch>\n')
    for name, data in members:
        out.write(f'{name:<16}{0:<12}{0:<6}{0:<6}{"100644":<8}{len(data):<10}`\n'.encode())
        out.write(data)
        if len(data) % 2:
            out.write(b'\n')
    return out.getvalue()


def make_deb(path: str, n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict:
    """Write a fake dataset-fashion-mnist .deb; return its arrays."""
    rng = np.random.default_rng(seed)
    arrays = dict(train=(rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train)),
                  test=(rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test)))
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode='w:xz') as tar:
        for split, (img_name, lab_name) in fm.FILES.items():
            for name, arr in ((img_name, arrays[split][0]), (lab_name, arrays[split][1])):
                data = _idx(arr)
                info = tarfile.TarInfo('./' + fm.DEB_PREFIX + name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    with open(path, 'wb') as f:
        f.write(_ar([('debian-binary', b'2.0\n'), ('control.tar.xz', b'x'),
                     ('data.tar.xz', tar_bytes.getvalue())]))
    return arrays


@pytest.fixture
def fake_deb(tmp_path, monkeypatch):
    path = str(tmp_path / fm.DEB_NAME)
    arrays = make_deb(path)
    monkeypatch.setattr(fm, 'DEB_SIZE', osp.getsize(path))
    with open(path, 'rb') as f:
        monkeypatch.setattr(fm, 'DEB_SHA256', hashlib.sha256(f.read()).hexdigest())
    monkeypatch.delenv('SFMM_FASHION_MNIST_DEB', raising=False)
    return path, arrays


def test_fetch_unpacks_and_reads_the_package(fake_deb, tmp_path):
    deb, arrays = fake_deb
    folder = fm.fetch_fashion_mnist(str(tmp_path / 'cache'), deb=deb)
    assert folder == fm.cache_dir(str(tmp_path / 'cache'))
    for split in ('train', 'test'):
        images, labels = fm.load_fashion_mnist(split, folder)
        np.testing.assert_array_equal(images, arrays[split][0])
        np.testing.assert_array_equal(labels, arrays[split][1])
    # a second fetch needs no package: the verified files are reused
    os.remove(deb)
    assert fm.fetch_fashion_mnist(str(tmp_path / 'cache')) == folder


def test_fetch_uses_apt_get_download(fake_deb, tmp_path, monkeypatch):
    """Without a local package, `apt-get download dataset-fashion-mnist` runs in the cache."""
    deb, arrays = fake_deb
    calls = []

    def fake_run(cmd, cwd, **kwargs):
        calls.append((cmd, cwd))
        with open(deb, 'rb') as src, open(osp.join(cwd, fm.DEB_NAME), 'wb') as dst:
            dst.write(src.read())
        return __import__('subprocess').CompletedProcess(cmd, 0, '', '')

    monkeypatch.setattr(fm.shutil, 'which', lambda name: '/usr/bin/' + name)
    monkeypatch.setattr(fm.subprocess, 'run', fake_run)
    folder = fm.fetch_fashion_mnist(str(tmp_path / 'cache'))
    assert calls == [(['apt-get', 'download', fm.PACKAGE], folder)]
    np.testing.assert_array_equal(fm.load_fashion_mnist('test', folder)[1], arrays['test'][1])


def test_missing_apt_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv('SFMM_FASHION_MNIST_DEB', raising=False)
    monkeypatch.setattr(fm.shutil, 'which', lambda name: None)
    with pytest.raises(fm.FashionMNISTError, match='apt-get not found.*SFMM_FASHION_MNIST_DEB'):
        fm.fetch_fashion_mnist(str(tmp_path))
    ok, why = fm.fashion_mnist_available(str(tmp_path))
    assert not ok and 'apt-get update' in why


def test_corrupt_package_is_named_and_kept(fake_deb, tmp_path):
    deb, _ = fake_deb
    with open(deb, 'r+b') as f:  # same size, one byte changed
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(fm.FashionMNISTError, match=f'{deb} is not the expected.*sha256'):
        fm.fetch_fashion_mnist(str(tmp_path / 'cache'), deb=deb)
    assert not osp.exists(deb) and osp.isfile(deb + '.corrupt')  # moved aside, not deleted
    with pytest.raises(fm.FashionMNISTError, match='no such file'):
        fm.verify_deb(deb)


def test_truncated_idx_file_is_named(fake_deb, tmp_path):
    deb, _ = fake_deb
    folder = fm.fetch_fashion_mnist(str(tmp_path / 'cache'), deb=deb)
    path = osp.join(folder, fm.FILES['test'][0])
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    with open(path, 'wb') as f:
        f.write(gzip.compress(raw[:-10]))
    with pytest.raises(fm.FashionMNISTError, match=f'{path}: .*truncated'):
        fm.load_fashion_mnist('test', folder)
    with open(path, 'wb') as f:
        f.write(b'not gzip')
    with pytest.raises(fm.FashionMNISTError, match=f'{path}: cannot be read as gzip'):
        fm.read_idx(path)
    os.remove(path)
    with pytest.raises(fm.FashionMNISTError, match=f'{path}: no such file'):
        fm.read_idx(path)


def test_real_package_constants_match_debian():
    """The pinned package: 30,900,652 bytes; where apt has fetched it into the cache, its
    checksum is the pinned one (skipped on machines that never fetched it)."""
    assert fm.DEB_SIZE == 30_900_652 and len(fm.DEB_SHA256) == 64
    cached = osp.join(fm.cache_dir(), fm.DEB_NAME)
    if not osp.isfile(cached):
        pytest.skip(f'{cached} not fetched on this machine')
    assert osp.getsize(cached) == fm.DEB_SIZE and fm.sha256_of(cached) == fm.DEB_SHA256
