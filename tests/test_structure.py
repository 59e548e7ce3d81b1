"The shape of the house: one mechanism per module (none over 400 lines), short functions, a test cell after every export, notebooks named after their modules."
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = [p for p in sorted((ROOT/'unilth_nb').glob('*.py')) if p.name != '_modidx.py']
NOTEBOOKS = sorted((ROOT/'nbs').glob('*.ipynb'))

def code_cells(nb: Path) -> list:
    return [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']

def test_no_module_over_400_lines():
    long = {p.name: n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long

def test_no_function_over_60_lines():
    long = [(p.name, f.name, f.end_lineno - f.lineno + 1) for p in MODULES for f in ast.walk(ast.parse(p.read_text()))
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > 60]
    assert not long, long

def test_every_exported_cell_is_followed_by_a_test_cell():
    "An exported cell that defines something is followed by a code cell that is not exported (its test), as fastcore's notebooks do."
    untested = []
    for nb in NOTEBOOKS:
        cells = code_cells(nb)
        for i, src in enumerate(cells):
            if not src.lstrip().startswith('#| export'): continue
            defs = [n.name for n in ast.parse(src).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            following = cells[i + 1] if i + 1 < len(cells) else ''
            if defs and (not following or following.lstrip().startswith('#| export') or following.lstrip().startswith('#| hide')):
                untested.append((nb.name, defs))
    assert not untested, untested

def test_notebooks_are_named_after_their_modules():
    for nb in NOTEBOOKS:
        m = re.search(r'#\| default_exp (\w+)', '\n'.join(code_cells(nb)))
        if m: assert nb.stem.split('_', 1)[1] == m.group(1).strip('_'), (nb.name, m.group(1))
