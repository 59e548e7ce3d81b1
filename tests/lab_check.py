"""A real-client test of the notebooks: JupyterLab, headless Chromium, every cell run through the UI.

    python tests/lab_check.py [--notebooks index.ipynb,01_masks.ipynb] [--out runs/lab]

Starts JupyterLab on 127.0.0.1 with a fixed token over a temporary copy of nbs/ (so nothing the browser saves
touches the repository), opens each notebook in Chromium (Debian's, driven by Playwright), runs all cells from
the Run menu, waits for every cell to finish, and checks that every code cell ran, that outputs appeared and
that no output is an error. Saves a screenshot per notebook. The server is stopped at the end, whatever happens.
Exits 0 when every notebook passed, 1 when one did not, and prints SKIPPED (exit 0) with the reason when there is
no Chromium (`make test-lab` installs it with apt where it can).
"""
import argparse, os, shutil, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = 'unilth-lab-test'
CHROMIUM = os.environ.get('UNILTH_CHROMIUM', '/usr/bin/chromium')

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_lab(root:Path, port:int, log) -> subprocess.Popen:
    "JupyterLab on 127.0.0.1:`port` over `root`, in its own process group (so that stopping it stops its kernels)."
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', f'--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
           f'--IdentityProvider.token={TOKEN}', f'--ServerApp.root_dir={root}', '--ServerApp.port_retries=0',
           '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')      # CI runs as root
    config = root/'.jupyter-config'
    tracker = config/'lab'/'user-settings'/'@jupyterlab'/'notebook-extension'/'tracker.jupyterlab-settings'
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text('{"windowingMode": "none"}')   # every cell in the page: the default skips rendering cells out of view, so their prompts and errors read ''
    env = dict(os.environ, UNILTH_QUIET='', JUPYTER_CONFIG_DIR=str(config))
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

def wait_http(port:int, timeout:float=60):
    import urllib.request
    t = time.time()
    while time.time() - t < timeout:
        try: urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={TOKEN}', timeout=2); return
        except Exception: time.sleep(0.5)
    raise RuntimeError(f'JupyterLab did not answer on port {port} within {timeout:.0f} s')

def stop(proc:subprocess.Popen):
    if proc.poll() is not None: return
    try: os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError: return
    try: proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)

STATE_JS = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  return cells.map(c => ({
    prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
    outputs: c.querySelectorAll('.jp-OutputArea-output').length,
    error: [...c.querySelectorAll('.jp-OutputArea-output')].some(o =>
        o.getAttribute('data-mime-type') === 'application/vnd.jupyter.error' ||
        /Traceback \\(most recent call last\\)/.test(o.textContent)),
    text: [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n').slice(0, 300),
    source: ((c.querySelector('.jp-InputArea-editor') || {}).innerText || '').slice(0, 80)}));
}"""

KERNEL_BUSY_JS = """() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const bar = document.body.innerText; return (s && s.getAttribute('data-status') === 'busy') || / \\| Busy/.test(bar); }"""

def run_notebook(page, port:int, name:str, out:Path, timeout:float) -> dict:
    "Open `name`, run all cells from the Run menu, wait for them, and report what the cells show."
    page.goto(f'http://127.0.0.1:{port}/lab/tree/{name}?token={TOKEN}&reset', wait_until='domcontentloaded')
    page.wait_for_selector('.jp-Notebook .jp-CodeCell', timeout=60_000)
    page.wait_for_function("() => /\\| Idle/.test(document.body.innerText)", timeout=90_000)   # the kernel has started
    t = time.time()
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    idle = quiet = 0
    while idle < 2 and quiet < 15:                 # done when every cell ran (or one failed), none is queued ('*'), the kernel idle twice;
        time.sleep(1)                              # or when nothing is queued and the kernel has been idle for 15 s with cells unrun (a cell failed)
        cells = page.evaluate(STATE_JS)
        prompts = [c['prompt'].strip() for c in cells]
        waiting = '[ ]:' in prompts and not any(c['error'] for c in cells)   # not yet queued (after an error, cells stay unrun)
        running = any('*' in p for p in prompts) or page.evaluate(KERNEL_BUSY_JS)
        idle = 0 if waiting or running else idle + 1
        quiet = 0 if running else quiet + 1
        if time.time() - t > timeout: raise TimeoutError(f'{name}: cells still running after {timeout:.0f} s: {prompts}')
    not_run = [c['source'] for c in cells if c['prompt'].strip() == '[ ]:']    # (a cell whose input is hidden shows no prompt)
    seconds = time.time() - t
    shot = out/f"{Path(name).stem}.png"
    page.screenshot(path=str(shot), full_page=False)
    errors = [c for c in cells if c['error']] + [{'source': src, 'text': 'never ran'} for src in not_run]
    return {'notebook': name, 'cells': len(cells), 'with_output': sum(c['outputs'] > 0 for c in cells),
            'errors': errors, 'seconds': round(seconds, 1), 'screenshot': str(shot)}

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--notebooks', default='index.ipynb,01_masks.ipynb')
    ap.add_argument('--out', default=str(ROOT/'runs'/'lab'))
    ap.add_argument('--timeout', type=float, default=600, help='seconds per notebook')
    a = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"SKIPPED: no Chromium at {CHROMIUM} (install it: apt-get install -y chromium, as root)"); return 0
    try: from playwright.sync_api import sync_playwright
    except ImportError:
        print("SKIPPED: Playwright is not installed (pip install playwright; its browser download is not needed)"); return 0
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)/'nbs'
        shutil.copytree(ROOT/'nbs', root, ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_proc'))
        port, log = free_port(), open(out/'jupyterlab.log', 'w')
        lab = start_lab(root, port, log)
        results = []
        try:
            wait_http(port)
            print(f"JupyterLab at http://127.0.0.1:{port}/lab?token={TOKEN} (pid {lab.pid}), {time.time() - t0:.1f} s to start", flush=True)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'])
                try:
                    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
                    console_errors = []
                    page.on('console', lambda m: console_errors.append(m.text) if m.type == 'error' else None)
                    for name in a.notebooks.split(','):
                        r = run_notebook(page, port, name, out, a.timeout)
                        results.append(r)
                        print(f"{name}: {r['cells']} code cells, {r['with_output']} with output, {len(r['errors'])} errors, "
                              f"{r['seconds']} s to run all; screenshot {r['screenshot']}", flush=True)
                        for e in r['errors']: print(f"  error in cell {e['source']!r}: {e['text']}")
                finally: browser.close()
        finally:
            stop(lab); log.close()
    ok = results and all(not r['errors'] and r['with_output'] > 0 for r in results) and len(results) == len(a.notebooks.split(','))
    print(f"lab check: {'passed' if ok else 'FAILED'} in {time.time() - t0:.0f} s (server stopped)")
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
