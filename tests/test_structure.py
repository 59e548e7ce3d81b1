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

def attributes(tree: ast.AST, on=None) -> set:
    "The attribute names read in `tree` (`on`: only those read on a name in `on`, or on an attribute named so)."
    def base(n): return n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else None
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and (on is None or base(n.value) in on)}

def pipeline_names(tree: ast.AST) -> set:
    "The names holding a pipeline in `tree` (a function): parameters called `pipeline`, names bound to `TicketPipeline(...)`."
    made = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
            and getattr(n.value.func, 'id', None) == 'TicketPipeline' for t in n.targets if isinstance(t, ast.Name)}
    return made | {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg) and n.arg == 'pipeline'}

def test_the_store_keeps_what_the_pipeline_reports_and_reads_nothing_of_it():
    """The pipeline tells its store what to keep through one call, `store.report(RunEvent)`; the store reads neither the
    controller nor the pipeline's model, rows or state, and uses a pipeline only as any caller does (issue 38)."""
    store = ast.parse((ROOT/'unilth_nb'/'store.py').read_text())
    internals = {'ctl', 'controller', 'model', 'optimizer', 'state_dict', 'net', 'scaler', 'milestone'}
    assert not attributes(store) & internals, attributes(store) & internals
    assert not [n.module for n in ast.walk(store) if isinstance(n, ast.ImportFrom) and n.module == 'controller']
    functions = [f for f in ast.walk(store) if isinstance(f, ast.FunctionDef) and pipeline_names(f)]
    used = {f.name: attributes(f, on=pipeline_names(f)) for f in functions}
    assert functions and all(u <= {'cfg', 'load_state_dict', 'run'} for u in used.values()), used
    pipeline = ast.parse((ROOT/'unilth_nb'/'pipeline.py').read_text())
    assert attributes(pipeline, on={'store'}) <= {'report', 'folder'}, attributes(pipeline, on={'store'})

def method_mentions(path: Path, names) -> list:
    """Where a module names a method: a string or comment holding a method's name as a word (names that are English words,
    such as 'dense' and 'set', only when quoted)."""
    import io, tokenize
    words = [n for n in names if n not in ('dense', 'set')]
    pattern = re.compile(r"\b(" + '|'.join(map(re.escape, words)) + r")\b|['`\"](" + '|'.join(map(re.escape, names)) + r")['`\"]")
    toks = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(path.name, t.start[0], m.group(0)) for t in toks if t.type in (tokenize.STRING, tokenize.COMMENT)
            for m in [pattern.search(t.string)] if m]

def test_config_flops_and_controller_name_no_method():
    "A method is one registration (the methods notebook): the configuration, the FLOPs ledger and the controller name none (issue 38)."
    from unilth_nb.methods import METHODS
    found = [hit for mod in ('config', 'config_checks', 'flops', 'controller', 'ticket_state') for hit in method_mentions(ROOT/'unilth_nb'/f'{mod}.py', list(METHODS))]
    assert not found, found

def long_lines_and_chains(path: Path) -> list:
    """Lines over 120 characters and statements chained with `;` in a module (the first line of nbdev's generated
    `__all__`, which nbdev wraps at 120 before it prefixes it, aside)."""
    import io, tokenize
    text = path.read_text()
    out = [(path.name, i, 'long') for i, l in enumerate(text.splitlines(), 1) if len(l) > 120 and not l.startswith('__all__ = [')]
    toks = tokenize.generate_tokens(io.StringIO(text).readline)
    return out + [(path.name, t.start[0], ';') for t in toks if t.type == tokenize.OP and t.string == ';']

def test_no_line_over_120_characters_and_no_chained_statements():
    "The caps are kept by splitting code, not by widening lines (issue 38)."
    found = [hit for p in MODULES for hit in long_lines_and_chains(p)]
    assert not found, found

def imported_modules(path: Path) -> set:
    "The package's modules that a module imports, at its top or inside a function (not under `if TYPE_CHECKING:`)."
    tree, out = ast.parse(path.read_text()), set()
    skip = {id(n) for i in ast.walk(tree) if isinstance(i, ast.If) and 'TYPE_CHECKING' in ast.unparse(i.test)
            for n in ast.walk(i)}
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and id(n) not in skip and n.module:
            if n.level == 1: out.add(n.module.split('.')[0])
            elif n.module.startswith('unilth_nb.'): out.add(n.module.split('.')[1])
    return out

def test_the_book_is_in_import_order():
    "A notebook comes after every notebook whose module its module imports: the book reads from the bottom up (issue 38)."
    book = {}
    for nb in NOTEBOOKS:
        m = re.search(r'#\| default_exp (\w+)', '\n'.join(code_cells(nb)))
        if m: book[m.group(1)] = nb.name
    late = [(book[mod], book[imp]) for mod in book if (ROOT/'unilth_nb'/f'{mod}.py').exists()
            for imp in imported_modules(ROOT/'unilth_nb'/f'{mod}.py') if imp in book and book[imp] > book[mod]]
    assert not late, late

def test_no_name_is_exported_by_two_modules():
    "`from unilth_nb.all import *` would keep one of them silently: every public name belongs to one module."
    import importlib
    from unilth_nb._modidx import d
    from unilth_nb.all import NOT_HERE
    owners = {}
    for m in d['syms']:
        if m.rsplit('.', 1)[-1] in NOT_HERE: continue
        for name in importlib.import_module(m).__all__: owners.setdefault(name, []).append(m)
    assert not {n: ms for n, ms in owners.items() if len(ms) > 1}
