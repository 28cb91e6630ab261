"""Fashion-MNIST from Debian's archive: fetch, verify, unpack and read, without root.

Fashion-MNIST (Zalando Research, MIT licence) holds 70,000 labelled 28x28 grayscale photos of
fashion products in 10 classes: 60,000 for training and the official 10,000-image test split.
Debian ships it as the package ``dataset-fashion-mnist``. :func:`fetch_fashion_mnist` runs
``apt-get download dataset-fashion-mnist`` (no root: it only needs the machine's package
lists) into sfmm's cache, checks the ``.deb`` by size and SHA-256, and unpacks the four
``*-ubyte.gz`` files with the standard library (a ``.deb`` is an ``ar`` archive holding a
compressed tar), so ``dpkg-deb`` is not needed either::

    ~/.cache/sfmm/datasets/fashion-mnist/
        dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb
        train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
        t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
        source.json                 what was unpacked, from which verified .deb

The cache folder is ``$SFMM_CACHE_DIR`` (default ``$XDG_CACHE_HOME/sfmm`` or
``~/.cache/sfmm``), the same one ``tools/setup_env.sh`` keeps the mmcv wheel in. A ``.deb``
fetched elsewhere can be given by path (``deb=`` or ``$SFMM_FASHION_MNIST_DEB``), and a
folder already holding the four ``*-ubyte.gz`` files (from any source) by
``$SFMM_FASHION_MNIST_DIR``, which is then used as it is.
"""
import gzip
import hashlib
import io
import json
import os
import os.path as osp
import shutil
import subprocess
import tarfile
from typing import Optional, Tuple

import numpy as np

PACKAGE = 'dataset-fashion-mnist'
DEB_NAME = 'dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb'
DEB_SIZE = 30_900_652
DEB_SHA256 = '39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0'
DEB_PREFIX = 'usr/share/datasets/fashion-mnist/'
FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
#: Class names in label order (folder-safe spellings of the dataset's own names).
CLASSES = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
           'bag', 'boot')
_ALL_FILES = tuple(name for pair in FILES.values() for name in pair)
_SOURCE = 'source.json'
FIX_HINT = (f'run `apt-get update` (as root) so that `apt-get download {PACKAGE}` works, or '
            f'download {DEB_NAME} from a Debian mirror and pass it with '
            f'SFMM_FASHION_MNIST_DEB=/path/to/{DEB_NAME}')


class FashionMNISTError(RuntimeError):
    """Fashion-MNIST could not be fetched, verified or read; the message names the file."""


def cache_dir(root: Optional[str] = None) -> str:
    """The folder Fashion-MNIST is kept in: ``<root or sfmm cache>/datasets/fashion-mnist``."""
    if root is None:
        root = os.environ.get('SFMM_CACHE_DIR') or osp.join(
            os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'sfmm')
    return osp.join(root, 'datasets', 'fashion-mnist')


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def verify_deb(path: str) -> None:
    """Raise :class:`FashionMNISTError` naming ``path`` unless it is the expected ``.deb``.

    A file of the wrong size or checksum is renamed to ``<path>.corrupt`` (kept for
    inspection, out of the way of the next fetch).
    """
    if not osp.isfile(path):
        raise FashionMNISTError(f'{path}: no such file; {FIX_HINT}')
    size = osp.getsize(path)
    digest = sha256_of(path) if size == DEB_SIZE else None
    if size != DEB_SIZE or digest != DEB_SHA256:
        bad = path + '.corrupt'
        os.replace(path, bad)
        got = f'{size} bytes' if digest is None else f'sha256 {digest}'
        raise FashionMNISTError(
            f'{path} is not the expected {PACKAGE} package (expected {DEB_SIZE} bytes, sha256 '
            f'{DEB_SHA256}; got {got}); moved it to {bad}. Delete it and fetch again: {FIX_HINT}')


def _ar_members(path: str):
    """Yield ``(name, bytes)`` for each member of the ``ar`` archive at ``path``."""
    with open(path, 'rb') as f:
        if f.read(8) != b'!<arch>\n':
            raise FashionMNISTError(f'{path} is not an ar archive (.deb)')
        while True:
            header = f.read(60)
            if not header:
                return
            if len(header) < 60:
                raise FashionMNISTError(f'{path}: truncated ar header')
            name = header[:16].decode('ascii', 'replace').strip().rstrip('/')
            size = int(header[48:58].decode('ascii').strip())
            data = f.read(size)
            if len(data) != size:
                raise FashionMNISTError(f'{path}: truncated member {name}')
            if size % 2:
                f.read(1)
            yield name, data


def unpack_deb(deb: str, out_dir: str) -> None:
    """Write the four ``*-ubyte.gz`` files of the verified ``deb`` into ``out_dir``."""
    wanted = {DEB_PREFIX + n for n in _ALL_FILES}
    for name, data in _ar_members(deb):
        if not name.startswith('data.tar'):
            continue
        with tarfile.open(fileobj=io.BytesIO(data), mode='r:*') as tar:
            for member in tar.getmembers():
                rel = member.name.lstrip('./')
                if rel in wanted:
                    src = tar.extractfile(member)
                    dst = osp.join(out_dir, osp.basename(rel))
                    with open(dst + '.tmp', 'wb') as f:
                        shutil.copyfileobj(src, f)
                    os.replace(dst + '.tmp', dst)
                    wanted.discard(rel)
        break
    if wanted:
        raise FashionMNISTError(f'{deb} lacks {sorted(wanted)}')


def _apt_download(folder: str) -> str:
    """``apt-get download`` the package into ``folder``; return the ``.deb`` path."""
    if shutil.which('apt-get') is None:
        raise FashionMNISTError(f'apt-get not found, so {PACKAGE} cannot be fetched; '
                                f'{FIX_HINT}')
    proc = subprocess.run(['apt-get', 'download', PACKAGE], cwd=folder, capture_output=True,
                          text=True)
    path = osp.join(folder, DEB_NAME)
    if proc.returncode != 0 or not osp.isfile(path):
        msg = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FashionMNISTError(f'`apt-get download {PACKAGE}` in {folder} failed '
                                f'({" | ".join(msg)}); {FIX_HINT}')
    return path


def fetch_fashion_mnist(root: Optional[str] = None, deb: Optional[str] = None) -> str:
    """Make sure the four Fashion-MNIST files are in the cache; return their folder.

    Nothing is downloaded when an earlier fetch is complete. Otherwise the ``.deb`` comes from
    ``deb``, ``$SFMM_FASHION_MNIST_DEB``, a copy already in the cache, or ``apt-get download``,
    is verified (:func:`verify_deb`) and unpacked.

    Args:
        root (str, optional): sfmm's cache root. Defaults to None (``$SFMM_CACHE_DIR``...).
        deb (str, optional): A local copy of the package. Defaults to None.

    Returns:
        str: The folder holding ``train-images-idx3-ubyte.gz`` and the other three files.

    Raises:
        FashionMNISTError: The package cannot be fetched or fails its checks; the message
            names the file and the command that fixes it.
    """
    folder = cache_dir(root)
    os.makedirs(folder, exist_ok=True)
    source = osp.join(folder, _SOURCE)
    if osp.isfile(source) and all(osp.isfile(osp.join(folder, n)) for n in _ALL_FILES):
        with open(source) as f:
            if json.load(f).get('sha256') == DEB_SHA256:
                return folder
    deb = deb or os.environ.get('SFMM_FASHION_MNIST_DEB')
    if not deb:
        cached = osp.join(folder, DEB_NAME)
        deb = cached if osp.isfile(cached) else _apt_download(folder)
    verify_deb(deb)
    unpack_deb(deb, folder)
    with open(source + '.tmp', 'w') as f:
        json.dump(dict(package=DEB_NAME, sha256=DEB_SHA256, files=list(_ALL_FILES)), f,
                  indent=1)
    os.replace(source + '.tmp', source)
    return folder


def fashion_mnist_folder() -> str:
    """``$SFMM_FASHION_MNIST_DIR`` if set (its four files must be there), else the cache
    folder after :func:`fetch_fashion_mnist`."""
    folder = os.environ.get('SFMM_FASHION_MNIST_DIR')
    if not folder:
        return fetch_fashion_mnist()
    for name in _ALL_FILES:
        if not osp.isfile(osp.join(folder, name)):
            raise FashionMNISTError(f'{osp.join(folder, name)}: no such file '
                                    f'($SFMM_FASHION_MNIST_DIR={folder})')
    return folder


def read_idx(path: str) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format) into a uint8 array.

    Raises:
        FashionMNISTError: ``path`` is missing, not gzip, not IDX or truncated.
    """
    if not osp.isfile(path):
        raise FashionMNISTError(f'{path}: no such file; run sfmm.datasets.fetch_fashion_mnist() '
                                f'(or `python tools/demo.py`) to fetch it')
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise FashionMNISTError(f'{path}: cannot be read as gzip ({e}); delete it and fetch '
                                f'again') from e
    if len(raw) < 4 or raw[:2] != b'\0\0' or raw[2] != 0x08:
        raise FashionMNISTError(f'{path}: not a uint8 IDX file (magic {raw[:4].hex()})')
    ndim = raw[3]
    dims = np.frombuffer(raw, '>u4', count=ndim, offset=4).astype(np.int64)
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise FashionMNISTError(f'{path}: {len(raw) - offset} bytes of data for shape '
                                f'{tuple(dims)}: truncated or corrupt; delete it and fetch again')
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(tuple(dims))


def load_fashion_mnist(split: str,
                       folder: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of ``split`` ('train'/'test').

    Args:
        split (str): 'train' (60,000) or 'test' (the official 10,000).
        folder (str, optional): Where the files are. Defaults to None
            (:func:`fashion_mnist_folder`).
    """
    if split not in FILES:
        raise ValueError(f'split must be one of {sorted(FILES)}, got {split!r}')
    folder = folder or fashion_mnist_folder()
    images = read_idx(osp.join(folder, FILES[split][0]))
    labels = read_idx(osp.join(folder, FILES[split][1])).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise FashionMNISTError(f'{folder}: {split} images {images.shape} and labels '
                                f'{labels.shape} do not match')
    if labels.max(initial=0) >= len(CLASSES):
        raise FashionMNISTError(f'{osp.join(folder, FILES[split][1])}: label '
                                f'{int(labels.max())} out of range')
    return images, labels


def fashion_mnist_available(root: Optional[str] = None) -> Tuple[bool, str]:
    """``(True, folder)`` if Fashion-MNIST is (or can now be) in the cache, else
    ``(False, reason)``; never raises. For the demo's fallback to procedural scenes."""
    try:
        return True, fetch_fashion_mnist(root) if root else fashion_mnist_folder()
    except FashionMNISTError as e:
        return False, str(e)
