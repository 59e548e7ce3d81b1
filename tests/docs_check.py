"""The documentation site in a real browser, from disk, with no network.

    python tests/docs_check.py [--site _docs] [--out runs/docs]

Headless Chromium (Debian's, driven by Playwright) opens every notebook page and every results page (one per question,
each with a table and, where it compares, a verdict word) of the built site from file:// and checks: no console errors, every image loaded (naturalWidth > 0), math rendered by the local MathJax on the
theory page (MathJax elements present, no raw `$$` left), the API page lists `TicketPipeline`, a search for
"rewind" finds the early-stopping page; no page asks for anything over http(s) (every such request is refused
and counted) and no HTML file names an http(s) script or stylesheet. Saves screenshots of the index and the
theory page. Exit 0 when all pass, 1 otherwise; SKIPPED (exit 0) with the reason when there is no Chromium.
"""
import argparse, json, os, re, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get('UNILTH_CHROMIUM', '/usr/bin/chromium')
REMOTE = re.compile(r'<script[^>]+src="https?://|<link[^>]+href="https?://[^"]*"[^>]*stylesheet|<link[^>]+stylesheet[^>]*href="https?://', re.I)

def notebook_pages(site:Path) -> list:
    "The HTML pages made from notebooks (the site's pages less Sphinx's own)."
    names = [p.stem for p in (ROOT/'nbs').glob('*.ipynb')] + [f'experiments/{p.stem}' for p in (ROOT/'nbs'/'experiments').glob('*.ipynb')]
    return [site/f'{n}.html' for n in sorted(names)]

def results_pages(site:Path) -> list:
    "The HTML pages of the results, one per question whose published files exist (docs/results_pages.py), and their index."
    sys.path.insert(0, str(ROOT/'docs'))
    import results_pages
    names = [n for n, f in results_pages.PAGES.items() if all((ROOT/'nbs'/'results'/d).is_dir() for d in results_pages.NEEDS.get(n, ()))]
    return [site/'results'/'index.html'] + [site/'results'/f'{n}.html' for n in names]

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default=str(ROOT/'_docs')); ap.add_argument('--out', default=str(ROOT/'runs'/'docs'))
    a = ap.parse_args(argv)
    site, out = Path(a.site).resolve(), Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if not (site/'index.html').is_file(): print(f"docs check: no site at {site} (run make docs)"); return 1
    if not Path(CHROMIUM).exists(): print(f"SKIPPED: no Chromium at {CHROMIUM} (install it: apt-get install -y chromium, as root)"); return 0
    try: from playwright.sync_api import sync_playwright
    except ImportError: print("SKIPPED: Playwright is not installed (pip install playwright)"); return 0
    t0, problems = time.time(), []
    remote_refs = [str(p.relative_to(site)) for p in site.rglob('*.html') if REMOTE.search(p.read_text(errors='ignore'))]
    if remote_refs: problems.append(f"http(s) scripts or stylesheets named in: {', '.join(remote_refs[:5])}")
    pages, results = notebook_pages(site), results_pages(site)
    missing = [p.name for p in pages if not p.is_file()]
    if missing: problems.append(f"notebooks without a page: {missing}")
    gone = [p.stem for p in results if not p.is_file()]
    if gone: problems.append(f"results pages missing: {gone}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'])
        try:
            page = browser.new_page(viewport={'width': 1300, 'height': 900})
            remote, console = [], []
            page.route(re.compile(r'^https?://'), lambda route: (remote.append(route.request.url), route.abort()))
            page.on('console', lambda m: console.append(m.text) if m.type == 'error' else None)
            page.on('pageerror', lambda e: console.append(str(e)))
            for p in [q for q in pages + results if q.is_file()]:
                console.clear()
                page.goto(p.as_uri(), wait_until='load')
                page.wait_for_timeout(300)
                broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))")
                if console: problems.append(f"{p.name}: console errors: {console[:3]}")
                if broken: problems.append(f"{p.name}: images that did not load: {broken[:3]}")
                if page.evaluate("() => document.body.innerText.includes('#| ')"): problems.append(f"{p.name}: an nbdev directive (#| ...) is shown")
                if p.stem == 'index' and p.parent == site: page.screenshot(path=str(out/'index.png'))
                if p in results and p.stem != 'index':            # a results page: a table, and a verdict word where it compares
                    n_tables = page.evaluate("() => document.querySelectorAll('main table, article table').length")
                    text = page.evaluate("() => document.body.innerText")
                    if not n_tables: problems.append(f"results/{p.name}: no table")
                    if 'verdict' in text and not re.search(r'\b(better|worse|equivalent|not resolved)\b', text): problems.append(f"results/{p.name}: no verdict word")
                    if p.stem == 'comparison': page.screenshot(path=str(out/'results_comparison.png'))
            theory = site/'08_theory.html'
            page.goto(theory.as_uri(), wait_until='load')
            page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
            n_math = page.evaluate("() => document.querySelectorAll('mjx-container').length")
            raw = page.evaluate("() => document.querySelector('main, article, body').innerText.includes('$$')")
            if raw: problems.append('08_theory.html: raw $$ left in the text (math not rendered)')
            page.screenshot(path=str(out/'theory.png'))
            page.goto((site/'api.html').as_uri(), wait_until='load')
            if not page.evaluate("() => !!document.getElementById('unilth_nb.pipeline.TicketPipeline')"):
                problems.append('api.html does not list TicketPipeline')
            n_api = page.evaluate("() => document.querySelectorAll('dl.py > dt[id]').length")
            page.goto((site/'search.html').as_uri() + '?q=rewind', wait_until='load')
            try:
                page.wait_for_function("() => document.querySelectorAll('#search-results li a').length > 0", timeout=30_000)
                hits = page.evaluate("() => [...document.querySelectorAll('#search-results li a')].map(a => a.getAttribute('href'))")
            except Exception: hits = []
            if not any('07_early_stopping' in h for h in hits): problems.append(f"search for 'rewind' did not find 07_early_stopping: {hits[:5]}")
            if remote: problems.append(f"requests over the network: {sorted(set(remote))[:5]}")
        finally: browser.close()
    print(f"docs check: {len(pages)} notebook pages, {len(results)} results pages, {n_math} MathJax elements on the theory page, {n_api} API entries, "
          f"search 'rewind': {len(hits)} hits, {len(remote)} network requests; screenshots in {out}/; {time.time() - t0:.0f} s")
    for p in problems: print('  problem:', p)
    print('docs check:', 'passed' if not problems else 'FAILED')
    return 0 if not problems else 1

if __name__ == '__main__': sys.exit(main())
