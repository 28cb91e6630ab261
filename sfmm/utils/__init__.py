from .checkpoint import (load_checkpoint_file, mmengine_safe_globals,
                         register_mmengine_safe_globals)

__all__ = ['load_checkpoint_file', 'mmengine_safe_globals', 'register_mmengine_safe_globals']
