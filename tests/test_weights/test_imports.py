"""No import cycle in sfmm; no backbone imports a loader; the weights layer imports no model."""
import ast
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Set

from conftest import REPO_ROOT

PACKAGE = osp.join(REPO_ROOT, 'sfmm')


def _modules() -> Dict[str, str]:
    found = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(root, name)
                rel = osp.relpath(path, REPO_ROOT)[:-3].replace(os.sep, '.')
                found[rel[:-len('.__init__')] if rel.endswith('.__init__') else rel] = path
    return found


def _imports(module: str, path: str, known: Dict[str, str]) -> Set[str]:
    """sfmm modules that ``module`` imports anywhere (module level or inside functions)."""
    package = module if path.endswith('__init__.py') else module.rsplit('.', 1)[0]
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names = [f'{base}.{a.name}' if f'{base}.{a.name}' in known else base
                     for a in node.names]
        out.update(n for n in names if n in known and n != module)
    return out


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_no_import_cycle_between_sfmm_modules():
    """Imports inside functions count too (a deferred import is still a dependency)."""
    known = _modules()
    graph = {m: _imports(m, p, known) for m, p in known.items()}
    cycle = _cycle(graph)
    assert not cycle, ' -> '.join(cycle)


def test_backbones_import_no_loader():
    known = _modules()
    for module, path in known.items():
        if module.startswith('sfmm.models.backbones'):
            deps = _imports(module, path, known)
            assert not any(d.startswith('sfmm.weights') for d in deps), (module, deps)
            source = open(path).read()
            for call in ('torch.load', 'read_checkpoint', 'load_state_dict', 'open('):
                assert call not in source, f'{module} calls {call}'


def test_importing_the_weights_layer_imports_no_model():
    code = ('import sys, sfmm.weights; '
            'print(sorted(m for m in sys.modules if m.startswith("sfmm.models")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=REPO_ROOT, check=True).stdout
    assert out.strip() == '[]'
