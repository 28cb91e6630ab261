"""A dataset wrapper that fails fast, naming the path, on missing/empty folders and files."""
import copy
import os
import os.path as osp
from typing import Any, List, Union

from mmengine.dataset import BaseDataset

from sfmm.registry import DATASETS

#: Keys of a data-info dict that name files a pipeline will read.
FILE_KEYS = ('img_path', 'seg_map_path')


def _is_local(path: str) -> bool:
    return '://' not in path


def _describe(dataset: BaseDataset) -> str:
    """``ImageNet(data_root=..., ann_file=..., data_prefix=...)`` for error messages."""
    return (f'{type(dataset).__name__}(data_root={getattr(dataset, "data_root", None)!r}, '
            f'ann_file={getattr(dataset, "ann_file", None)!r}, '
            f'data_prefix={getattr(dataset, "data_prefix", None)!r})')


def _has_any_file(folder: str) -> bool:
    """Whether ``folder`` holds at least one file at any depth (stops at the first)."""
    for _, _, files in os.walk(folder, followlinks=True):
        if files:
            return True
    return False


def check_dataset_paths(dataset: BaseDataset) -> None:
    """Check, before indexing, that a dataset's root, ann file and folders exist.

    Args:
        dataset (BaseDataset): A dataset built with ``lazy_init=True``.

    Raises:
        FileNotFoundError: ``data_root``, ``ann_file`` or a ``data_prefix`` folder is
            missing (the message names it and the dataset).
        RuntimeError: a folder to be scanned (no ``ann_file``) holds no file at all.
    """
    ann_file = getattr(dataset, 'ann_file', '') or ''
    data_root = getattr(dataset, 'data_root', '') or ''
    prefixes = getattr(dataset, 'data_prefix', {}) or {}
    if data_root and _is_local(data_root) and not osp.isdir(data_root):
        raise FileNotFoundError(
            f'Dataset root folder {data_root!r} does not exist: {_describe(dataset)}')
    if ann_file:
        if _is_local(ann_file) and not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'Annotation file {ann_file!r} does not exist: {_describe(dataset)}')
    for key, folder in prefixes.items():
        if not isinstance(folder, str) or not folder or not _is_local(folder):
            continue
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'Dataset folder {folder!r} ({key}) does not exist: {_describe(dataset)}')
        if not ann_file and not _has_any_file(folder):
            raise RuntimeError(
                f'Dataset folder {folder!r} ({key}) is empty: {_describe(dataset)}')


def find_missing_files(dataset: BaseDataset) -> List[str]:
    """Return the local files named by a fully initialised dataset that do not exist.

    Args:
        dataset (BaseDataset): A dataset after ``full_init()``.

    Returns:
        list[str]: Missing ``img_path`` / ``seg_map_path`` entries, in dataset order.
    """
    missing = []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        for key in FILE_KEYS:
            path = info.get(key)
            if isinstance(path, str) and _is_local(path) and not osp.isfile(path):
                missing.append(path)
    return missing


@DATASETS.register_module()
class CheckedDataset:
    """Build a dataset and check its folders and files, failing early with the path.

    The host datasets give unclear errors for some broken layouts: an empty ADE20K
    folder fails with ``ValueError: need at least one array to concatenate``, an empty
    ImageNet root with an assertion about "subfolders" that names no path, and an ann
    file listing a missing image only fails when that image is loaded, possibly hours
    into training. This wrapper checks, in order: the root, the ann file and the
    ``data_prefix`` folders exist; a folder to be scanned is not empty; indexing
    succeeds (errors are re-raised with the dataset's paths); the dataset has samples;
    and (``check_files``) every ``img_path`` / ``seg_map_path`` exists (one ``stat``
    per file). Otherwise it behaves as the wrapped dataset (``metainfo``, ``__len__``,
    ``__getitem__``, ``get_data_info`` and any other attribute).

    Keyword arguments other than its own are merged into the wrapped config, so a leaf
    config that overrides ``train_dataloader = dict(dataset=dict(pipeline=...))`` keeps
    working when its base wraps the dataset.

    Example:
        >>> dataset = dict(type='sfmm.CheckedDataset',
        ...                dataset=dict(type='ImageNet', data_root='data/imagenet',
        ...                             split='val', pipeline=test_pipeline))

    Args:
        dataset (dict | BaseDataset): The dataset or its config (built in the current
            default scope, with ``lazy_init=True`` so paths are checked first).
        check_files (bool): Check that every listed file exists. Defaults to True.
        max_listed (int): How many missing files the error lists. Defaults to 10.
        lazy_init (bool): Defer indexing and checks to ``full_init()``.
            Defaults to False.
        **overrides: Keys set on the wrapped dataset config (e.g. ``pipeline``).
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 check_files: bool = True,
                 max_listed: int = 10,
                 lazy_init: bool = False,
                 **overrides) -> None:
        if isinstance(dataset, dict):
            cfg = copy.deepcopy(dataset)
            cfg.update(overrides)
            cfg['lazy_init'] = True
            dataset = DATASETS.build(cfg)
        elif overrides:
            raise TypeError(f'Cannot apply {sorted(overrides)} to an already built dataset')
        self.dataset = dataset
        self.check_files = check_files
        self.max_listed = max_listed
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information."""
        return self.dataset.metainfo

    def full_init(self) -> None:
        """Check paths, index the wrapped dataset, then check its samples."""
        if self._fully_initialized:
            return
        ds = self.dataset
        check_dataset_paths(ds)
        try:
            ds.full_init()
        except Exception as e:
            raise RuntimeError(f'Failed to index {_describe(ds)}: '
                               f'{type(e).__name__}: {e}') from e
        if len(ds) == 0:
            raise RuntimeError(f'Dataset has no samples: {_describe(ds)}')
        if self.check_files:
            missing = find_missing_files(ds)
            if missing:
                listed = ', '.join(repr(p) for p in missing[:self.max_listed])
                more = len(missing) - self.max_listed
                tail = f' and {more} more' if more > 0 else ''
                raise FileNotFoundError(
                    f'{len(missing)} file(s) listed by {_describe(ds)} do not exist: '
                    f'{listed}{tail}')
        self._fully_initialized = True

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's ``idx``-th data info."""
        return self.dataset.get_data_info(idx)

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            self.full_init()
        return self.dataset[idx]

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not found normally; guard against recursion while
        # unpickling (dataloader workers), when ``dataset`` is not set yet
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)
