"""``sfmm.LoggerHook``: mmengine's LoggerHook with the test-results json written by rank 0."""
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import dump
from mmengine.hooks import LoggerHook as _MMEngineLoggerHook

from sfmm.registry import HOOKS


@HOOKS.register_module()
class LoggerHook(_MMEngineLoggerHook):
    """mmengine's ``LoggerHook`` whose test-results json is written by rank 0 only.

    mmengine 0.10.7 writes ``{log_dir}/{timestamp}.json`` after a test epoch on every rank,
    and all ranks share one ``log_dir`` (the timestamp is broadcast). Under
    ``tools/dist_test.sh`` the ranks then truncate and write the same file at once, and it
    sometimes ends up holding one rank's results plus the tail of the other's (invalid
    json). Every rank still runs the same calls, only the file write is guarded. Training
    and validation logs already go through the rank-0 visualizer and are unchanged.

    Args: as :class:`mmengine.hooks.LoggerHook`.
    """

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if is_main_process():
            dump(self._process_tags(tag), osp.join(runner.log_dir, self.json_log_path))
