"""Build the documentation site into _docs/ from the notebooks, offline, with Jupyter Book 1 (Sphinx + myst-nb).

    python docs/build.py [--execute] [--out _docs]

Steps: copy nbs/ into a build folder (_docs_build/), turning nbdev's directives into what the renderer
understands (`#| hide` and `#| default_exp` cells removed, `#| export` lines dropped, `remove_input` tags kept);
write the table of contents in the notebooks' order, a results page per question (docs/results_pages.py, computed
from nbs/results/) and an API reference generated from every module's `__all__` (signature, docstring, link to the
notebook that defines it); put MathJax (fetched once from the npm registry into a cache, then local) into the
site; build; copy the HTML into --out. Notebooks are not re-executed unless --execute.
"""
import argparse, importlib, inspect, io, json, os, re, shutil, subprocess, sys, tarfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, BUILD = ROOT/'nbs', ROOT/'_docs_build'
MATHJAX = ('3.2.2', 'https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz')
CACHE = Path(os.environ.get('UNILTH_DOCS_CACHE', Path.home()/'.cache'/'unilth_nb'/'docs'))

def directives(src:str) -> set:
    "The nbdev directives (`#| name`) at the top of a cell's source."
    return {m.group(1) for m in re.finditer(r'^#\|\s*([\w-]+)', src, re.M)}

def convert(nb:dict) -> dict:
    "A notebook with nbdev's directives turned into the renderer's: hidden cells removed, `#| ...` lines dropped."
    cells = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'code':
            d = directives(src)
            if d & {'hide', 'default_exp'}: continue
            c['source'] = re.sub(r'^#\|.*\n?', '', src, flags=re.M)
            tags = c.setdefault('metadata', {}).setdefault('tags', [])
            if 'remove_input' in tags: tags.append('remove-input')
            for o in c.get('outputs', []):             # Markdown outputs too
                md = o.get('data', {}).get('text/markdown')
                if md is not None: o['data']['text/markdown'] = re.sub(r'^(---+|\*\*\*+)\s*$', '<hr>', ''.join(md), flags=re.M)
        elif c['cell_type'] == 'markdown':             # a rule as raw HTML: docutils refuses a transition at a section's edge
            c['source'] = re.sub(r'^(---+|\*\*\*+)\s*$', '<hr>', src, flags=re.M)
        cells.append(c)
    nb['cells'] = cells
    nb.setdefault('metadata', {}).pop('widgets', None)
    return nb

def pages() -> list:
    "The notebooks in order: index first, then the numbered ones, then the experiments."
    nbs = sorted(p for p in NBS.glob('*.ipynb') if p.name != 'index.ipynb')
    return [NBS/'index.ipynb', *nbs, *sorted((NBS/'experiments').glob('*.ipynb'))]

def notebook_of(module) -> str:
    "The notebook a generated module comes from (its header says so)."
    m = re.search(r'File to edit: \.\./nbs/(\S+?)\.ipynb', Path(module.__file__).read_text())
    return m.group(1) if m else ''

def api_page() -> str:
    "An API reference of every exported name: autodoc directives, grouped by module, each linked to its notebook."
    lines = ['# API reference', '', 'Every name a module exports (`__all__`), with its signature and docstring, generated from the package; '
             'each module links to the notebook that defines and explains it.', '']
    for path in sorted((ROOT/'unilth_nb').glob('*.py')):
        name = path.stem
        if name.startswith('_') or name == 'all': continue
        mod = importlib.import_module(f'unilth_nb.{name}')
        exported = getattr(mod, '__all__', [])
        if not exported: continue
        nb = notebook_of(mod)
        lines += [f'## `unilth_nb.{name}`', '', f'Defined and explained in [{nb}]({nb}.ipynb).' if nb else '', '', '```{eval-rst}']
        for n in exported:
            obj = getattr(mod, n, None)
            if inspect.isclass(obj): lines.append(f'.. autoclass:: unilth_nb.{name}.{n}\n   :members:')
            elif callable(obj): lines.append(f'.. autofunction:: unilth_nb.{name}.{n}')
            else: lines.append(f'.. py:data:: unilth_nb.{name}.{n}\n   :type: {type(obj).__name__}\n')   # a constant: its name and type
        lines += ['```', '']
    return '\n'.join(lines)

def results_pages() -> dict:
    "A page per question computed from the published results (docs/results_pages.py), and an index of them: {name: markdown}."
    sys.path.insert(0, str(ROOT/'docs'))
    import results_pages
    got = results_pages.pages()
    index = ['# Results', '', 'A page per question, each a compact table and a few sentences computed from the published files in '
             '`nbs/results/`; each comparison has one verdict word (better, worse, equivalent or not resolved) beside the interval '
             'of the test that gave it, and names its family.', '']
    index += [f"- [{text.splitlines()[0].lstrip('# ')}]({name}.md)" for name, text in got.items()]
    return {'index': '\n'.join(index), **got}

def mathjax(static:Path):
    "MathJax 3's SVG bundle, from the npm registry once, then from the cache (no CDN at view time)."
    version, url = MATHJAX
    js = CACHE/f'mathjax-{version}'/'tex-svg.js'
    if not js.is_file():
        js.parent.mkdir(parents=True, exist_ok=True)
        try: data = urllib.request.urlopen(url, timeout=60).read()
        except OSError as e: raise SystemExit(f"docs: cannot fetch MathJax {version} from the npm registry ({url}): {e}; "
                                              f"put package/es5/tex-svg.js of that version at {js}")
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            js.write_bytes(t.extractfile('package/es5/tex-svg.js').read())
    (static/'mathjax').mkdir(parents=True, exist_ok=True)
    shutil.copy(js, static/'mathjax'/'tex-svg.js')

CONFIG = """title: unilth_nb
author: unilth_nb
only_build_toc_files: true
execute:
  execute_notebooks: {execute}
  timeout: 1800
parse:
  myst_enable_extensions: [dollarmath, amsmath, colon_fence, deflist, html_image]
html:
  use_repository_button: false
  use_issues_button: false
  use_edit_page_button: false
  use_download_button: false
  home_page_in_navbar: true
launch_buttons:
  notebook_interface: classic
  binderhub_url: ""
  colab_url: ""
  thebe: false
sphinx:
  extra_extensions: [sphinx.ext.autodoc, sphinx.ext.napoleon]
  config:
    mathjax_path: mathjax/tex-svg.js
    html_static_path: [_static]
    nb_ipywidgets_js: {{}}
    suppress_warnings: [myst.header, mystnb.unknown_mime_type, misc.highlighting_failure, myst.xref_missing]
    autodoc_member_order: bysource
    add_module_names: false
    html_theme_options:
      search_bar_text: Search the docs
      use_download_button: false
      use_fullscreen_button: false
      use_repository_button: false
"""

def sphinx_conf(path:Path):
    "Jupyter Book's generated Sphinx config, less what reaches for the network or runs code in the page (Thebe, comments, intersphinx)."
    text = path.read_text()
    for ext in ('sphinx_thebe', 'sphinx_comments', 'sphinx.ext.intersphinx'): text = text.replace(f"'{ext}', ", '')
    text = re.sub(r"^html_js_files = .*$", "html_js_files = []", text, flags=re.M)          # MathJax comes once, through mathjax_path
    text = re.sub(r"^html_static_path = .*$", "html_static_path = ['_static']", text, flags=re.M)
    path.write_text(text + "\nmathjax3_config = {'svg': {'fontCache': 'global'}}\nhtml_context = {'default_mode': 'light'}\n")

def prepare(execute:bool) -> Path:
    "Write the build folder: converted notebooks, results, API page, table of contents, config, MathJax."
    if BUILD.exists(): shutil.rmtree(BUILD)
    BUILD.mkdir()
    (BUILD/'experiments').mkdir()
    names = []
    for p in pages():
        rel = p.relative_to(NBS)
        nb = convert(json.loads(p.read_text()))
        (BUILD/rel).write_text(json.dumps(nb))
        names.append(str(rel.with_suffix('')))
    shutil.copytree(NBS/'results', BUILD/'results')
    shutil.copytree(NBS/'results', BUILD/'nbs'/'results')      # index.ipynb names them as the README does
    results = results_pages()
    for name, text in results.items(): (BUILD/'results'/f'{name}.md').write_text(text + '\n')
    (BUILD/'api.md').write_text(api_page())
    toc = (['format: jb-book', 'root: index', 'chapters:'] + [f'- file: {n}' for n in names[1:]] + ['- file: results/index', '  sections:']
           + [f'  - file: results/{n}' for n in results if n != 'index'] + ['- file: api'])
    (BUILD/'_toc.yml').write_text('\n'.join(toc) + '\n')
    (BUILD/'_config.yml').write_text(CONFIG.format(execute='force' if execute else "'off'"))
    mathjax(BUILD/'_static')
    return BUILD

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--execute', action='store_true', help='re-run the notebooks while building (default: use their stored outputs)')
    ap.add_argument('--out', default=str(ROOT/'_docs'))
    a = ap.parse_args(argv)
    t = time.time()
    src = prepare(a.execute)
    env = dict(os.environ, UNILTH_QUIET='1', PYTHONWARNINGS='ignore')
    jb = Path(sys.executable).with_name('jupyter-book')
    r = subprocess.run([str(jb), 'config', 'sphinx', str(src)], cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode != 0: print(r.stdout + r.stderr, file=sys.stderr); return 1
    sphinx_conf(src/'conf.py')
    r = subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-W', '--keep-going', str(src), str(src/'_build'/'html')], cwd=ROOT, env=env)
    if r.returncode != 0: print('docs: the build failed or warned (see above; a warning fails it, e.g. a docstring that is not valid reStructuredText)', file=sys.stderr); return 1
    out = Path(a.out)
    if out.exists(): shutil.rmtree(out)
    shutil.copytree(src/'_build'/'html', out)
    print(f"docs: {len(pages())} notebook pages, results and API reference built into {out}/ in {time.time() - t:.0f} s "
          f"(open {out}/index.html)")
    return 0

if __name__ == '__main__': sys.exit(main())
