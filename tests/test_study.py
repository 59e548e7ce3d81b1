"""A pre-registered study end to end on a user's own model and data (nbs/experiments/my_study/), through the study
notebook and `unilth study`; a bad or changed pre-registration is one line and exit status 2, and no finished run moves."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
import papermill as pm
from conftest import ROOT

UNILTH = [str(Path(sys.executable).parent/'unilth')]
EXAMPLE = ROOT/'nbs'/'experiments'/'my_study'

def unilth(*args, cwd=None):
    return subprocess.run(UNILTH + list(args), capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**os.environ, 'UNILTH_QUIET': '1', 'OMP_NUM_THREADS': '1'})

@pytest.fixture(scope='module')
def done(tmp_path_factory):
    "The example study run once by `unilth study`, then by the study notebook on the same folder (which skips every run)."
    d = tmp_path_factory.mktemp('study')
    shutil.copytree(EXAMPLE, d, dirs_exist_ok=True)
    r = unilth('study', str(d/'my_study.yaml'), '--out', str(d/'out'))
    assert r.returncode == 0, r.stderr
    (d/'cli_results.json').write_text((d/'out'/'results.json').read_text())     # the command's own, before the notebook's
    pm.execute_notebook(str(ROOT/'nbs'/'experiments'/'study.ipynb'), str(d/'out'/'study.ipynb'), cwd=str(d), kernel_name='python3',
                        parameters=dict(prereg=str(d/'my_study.yaml'), out_dir=str(d/'out'), workers=1), progress_bar=False)
    return d, r.stdout

def results_mtimes(d: Path) -> list:
    return sorted((p.parent.name, p.stat().st_mtime_ns) for p in (d/'out'/'runs').glob('*/result.json'))

def test_a_users_own_study_runs_end_to_end(done):
    d, stdout = done
    res = json.loads((d/'out'/'results.json').read_text())
    lock = json.loads((d/'out'/'prereg.lock.json').read_text())
    assert res['prereg']['hash'] == lock['hash'] and len(lock['hash']) == 12
    v = {(r['family'], r['comparison']): r for r in res['verdicts']}
    assert set(v) == {('primary', 'unilth vs oneshot'), ('versus dense', 'unilth vs dense'), ('versus dense', 'oneshot vs dense'),
                      ('controls', 'unilth vs unilth/init'), ('controls', 'unilth/init vs unilth/reinit'), ('controls', 'unilth/init vs unilth/shuffle')}
    assert all(r['n'] == 3 and r['verdict'] in ('better', 'worse', 'equivalent', 'not resolved') for r in v.values())
    assert 'unilth vs oneshot' in stdout and lock['hash'] in stdout
    assert (d/'out'/'verdicts.md').read_text().count('|') > 10 and len(results_mtimes(d)) == 3 * 3 + 3 * 3   # 3 labels and 3 controls x 3 seeds
    eff = {r['label']: r['effective'] for r in res['effective_sparsity']}
    assert set(eff) == {'unilth', 'unilth/init', 'unilth/reinit', 'unilth/shuffle'} and all(0.8 - 1e-9 <= e < 1 for e in eff.values())
    assert json.loads((d/'cli_results.json').read_text())['effective_sparsity'] == res['effective_sparsity']   # the command's too

@pytest.mark.parametrize('edit, message', [
    (lambda t: t + 'primary: [unclosed\n', 'not valid YAML'),
    (lambda t: t.replace('preset: oneshot_magnitude', 'preset: oneshot_magic'), "unknown preset 'oneshot_magic'"),
    (lambda t: t.replace('model: blobs_mlp', 'model: blob_mlp'), "unknown model 'blob_mlp'"),
    (lambda t: t.replace('networks:', 'network:'), "unknown key 'network'"),
])
def test_a_bad_pre_registration_is_one_line_and_exit_2(tmp_path, edit, message):
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    f = tmp_path/'my_study.yaml'
    f.write_text(edit(f.read_text()))
    r = unilth('study', str(f), '--out', str(tmp_path/'out'))
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path/'out'/'runs').exists()

def test_a_changed_pre_registration_is_refused_and_no_run_moves(done):
    d, _ = done
    before = results_mtimes(d)
    f = d/'my_study.yaml'
    text = f.read_text()
    f.write_text(text.replace('margin: 0.02', 'margin: 0.03'))
    try:
        r = unilth('study', str(f), '--out', str(d/'out'))
        assert r.returncode == 2 and "changed after the study's first test run" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and results_mtimes(d) == before
    finally: f.write_text(text)
    f.write_text(text + '# a comment does not change the study\n')
    assert unilth('study', str(f), '--out', str(d/'out')).returncode == 0 and results_mtimes(d) == before

def test_the_docs_study_page_reads_a_published_study(done, tmp_path, monkeypatch):
    d, _ = done
    (tmp_path/'study').mkdir()
    shutil.copy(d/'out'/'results.json', tmp_path/'study')
    sys.path.insert(0, str(ROOT/'docs'))
    import results_pages
    monkeypatch.setattr(results_pages, 'RES', tmp_path)
    page = results_pages.study()
    for h in ('## primary', '## versus dense', '## The dense reference', '## The ticket controls', '## What to use when'):
        assert h in page, h
    assert '## controls' not in page and 'the default (kept)' in page and 'unilth/init vs unilth/shuffle: **' in page

def test_the_readme_reads_a_published_study(done, tmp_path):
    "index.ipynb (the README) run on the published results with the example study's results.json published beside them."
    d, _ = done
    nbs = tmp_path/'nbs'
    shutil.copytree(ROOT/'nbs'/'results', nbs/'results')
    shutil.copytree(ROOT/'nbs'/'experiments', nbs/'experiments', ignore=shutil.ignore_patterns('*.ipynb'))
    (nbs/'results'/'study').mkdir(exist_ok=True)
    shutil.copy(d/'out'/'results.json', nbs/'results'/'study')
    out = pm.execute_notebook(str(ROOT/'nbs'/'index.ipynb'), str(tmp_path/'index.ipynb'), cwd=str(nbs), kernel_name='python3',
                              progress_bar=False)
    text = '\n'.join(o.get('data', {}).get('text/markdown', '') for c in out.cells for o in c.get('outputs', []))
    assert "The pre-registration's hash: `" + json.loads((d/'out'/'results.json').read_text())['prereg']['hash'] in text
    assert 'UniLTH against one-shot magnitude pruning (H6, practitioner) | mlp | 0.8 |' in text
    line = text.split('- mlp, sparsity 0.8, against dense: ')[1].split('\n')[0]           # H7: each ticket against dense
    assert 'unilth ' in line and 'oneshot ' in line, line
    assert 'mlp: the tuning kept the default' in text and 'The ticket controls (H8)' in text and '| mlp | 0.8 | unilth/shuffle |' in text
    assert '- mlp, sparsity 0.8: highest mean' in text and 'Earlier comparison, sparsity' not in text   # the study's, not the earlier
