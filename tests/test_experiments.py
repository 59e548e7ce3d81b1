"""The experiment notebooks as regression tests (papermill, tiny parameters), and sweeps that resume after Ctrl-C."""
import json, math, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
import papermill as pm
from conftest import ROOT

NB = ROOT/'nbs'/'experiments'
BIN = Path(sys.executable).parent
TINY = {'train_epochs': 3, 'finetune': 1, 'ramp': '1ep', 'stabilize': '1ep', 'patience': 1}
PRESETS6 = ['dense', 'lth', 'dlth', 'unilth', 'unidlth', 'random_scratch']
CHANCE = 0.1                                    # MNIST-1D has 10 balanced classes

def execute(name, tmp_path, **params):
    "Run experiment notebook `name` with papermill; return its output folder and results.json."
    out = tmp_path/'out'; out.mkdir(exist_ok=True)
    pm.execute_notebook(str(NB/f'{name}.ipynb'), str(out/f'{name}.ipynb'), parameters=dict(out_dir=str(out), **params),
                        cwd=str(tmp_path), kernel_name='python3', progress_bar=False)
    return out, json.loads((out/'results.json').read_text())

def compare_violations(res, presets, sparsities, seeds, chance=CHANCE, tol=1e-3):
    "Every way a compare run leaves its bounds: a missing cell, a sparsity off target, an accuracy not finite or at chance."
    bad, runs = [], res['runs']
    have = {(r['preset'], r['target_sparsity'], r['seed']) for r in runs}
    for p in presets:
        for s in sparsities:
            for seed in seeds:
                key = (p, 0.0 if p == 'dense' else s, seed)
                if key not in have: bad.append(f'missing run {key}')
    for r in runs:
        if abs(r['sparsity'] - r['target_sparsity']) > tol: bad.append(f"{r['run']}: sparsity {r['sparsity']} vs target {r['target_sparsity']}")
        for k in ('test_acc', 'val_acc'):
            if not (math.isfinite(r[k]) and r[k] > chance): bad.append(f"{r['run']}: {k} {r[k]} not above chance {chance}")
    return bad

def test_compare_notebook_stays_within_its_bounds(tmp_path):
    sps, seeds = [0.5, 0.9], [0]
    out, res = execute('compare', tmp_path, presets=PRESETS6, sparsities=sps, seeds=seeds, budget=TINY, device='cpu', workers=2)
    assert compare_violations(res, PRESETS6, sps, seeds) == []
    assert len(res['runs']) == 1 + (len(PRESETS6) - 1) * len(sps)
    for f in ('compare.ipynb', 'results.csv', 'table.md', 'accuracy_vs_sparsity.png', 'curves.png'):
        assert (out/f).is_file() and (out/f).stat().st_size > 0, f
    assert (out/'accuracy_vs_sparsity.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert res['parameters']['presets'] == PRESETS6 and res['sweep']['failed'] == []
    # the bounds can fail: a result outside them is reported (what a regressed notebook would produce)
    assert compare_violations(res, PRESETS6, sps, seeds, chance=0.999)
    broken = json.loads(json.dumps(res)); broken['runs'][1]['sparsity'] += 0.01; broken['runs'].pop()
    assert len(compare_violations(broken, PRESETS6, sps, seeds)) == 2
    # a rerun of the same notebook trains nothing: every run folder is finished
    out2, res2 = execute('compare', tmp_path, presets=PRESETS6, sparsities=sps, seeds=seeds, budget=TINY, device='cpu', workers=2)
    assert res2['sweep']['ran'] == 0 and res2['sweep']['skipped'] == len(res['runs'])
    # results.json keeps the invocation that computed the runs (its wall time, workers, CPU), then the rerun's
    first, again = res2['invocations']
    assert first == res['invocations'][0] and first['ran'] == len(res['runs']) and first['workers'] == 2 and first['wall_seconds'] > 0
    assert again['ran'] == 0 and again['cpus'] == os.cpu_count()

@pytest.mark.slow                      # two minutes: make test-slow
def test_compare_notebook_adds_the_equal_budget_rows(tmp_path):
    "LTH cut to UniLTH's epochs, UniLTH/UniDLTH given LTH's (the way chosen on validation), beside the grid's own runs."
    out, res = execute('compare', tmp_path, presets=['lth', 'unilth', 'unidlth'], sparsities=[0.8], seeds=[0, 1], budget={**TINY, 'train_epochs': 6}, device='cpu',
                       workers=2, equal_budget_sparsities=[0.8], equal_budget_seeds=[0, 1], select_seeds=1)
    eb = res['equal_budget']
    assert set(eb['choice']) == {'unilth@0.8', 'unidlth@0.8'} and set(eb['choice'].values()) <= {'ramps', 'cycles'}
    sm = {r['preset']: r for r in eb['summary']}
    assert set(sm) == {'lth', 'unilth', 'unidlth', 'lth@unilth_epochs', 'unilth@lth_epochs', 'unidlth@lth_epochs'}
    assert all(r['n'] == 2 and abs(r['sparsity'] - 0.8) <= 1e-3 for r in sm.values())
    assert abs(sm['lth@unilth_epochs']['epochs'] - sm['unilth']['epochs']) <= 0.2 * sm['unilth']['epochs']      # equal cost, up to rounding
    for p in ('unilth', 'unidlth'): assert abs(sm[f'{p}@lth_epochs']['epochs'] - sm['lth']['epochs']) <= 0.2 * sm['lth']['epochs']
    assert '| lth@unilth_epochs |' in (out/'equal_budget.md').read_text() and (out/'equal_budget.csv').is_file()
    # lth@ on 2 seeds, 2 ways x 2 presets on 1 seed, then the chosen ways on the 1 seed not yet run (2 presets)
    assert eb['ran'] == 2 + 2 * 2 + 2 and eb['workers'] == 2 and eb['wall_seconds'] > 0

def test_ablation_notebook_stays_within_its_bounds(tmp_path):
    variations = {'patience': [1, 2], 'shape': ['linear', 'x^3'], 'cycles': [1, 3]}
    out, res = execute('ablation', tmp_path, seeds=[0], variations=variations, budget=TINY, device='cpu', workers=1)
    cells = {(r['knob'], r['value'], r['seed']) for r in res['runs']}
    assert cells == {(k, str(v), 0) for k, vs in variations.items() for v in vs}
    for r in res['runs']:
        assert abs(r['sparsity'] - 0.9) <= 1e-3 and math.isfinite(r['test_acc']) and r['test_acc'] > CHANCE, r
    for f in ('ablation.ipynb', 'results.csv', 'table.md', 'ablation.png'): assert (out/f).stat().st_size > 0, f

def test_a_bad_parameter_fails_the_notebook_with_papermills_error(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as e:
        execute('compare', tmp_path, presets=['dense', 'nope'], sparsities=[0.5], seeds=[0], budget=TINY, device='cpu', workers=1)
    assert "unknown preset 'nope'" in str(e.value)

@pytest.mark.parametrize('name', ['compare', 'ablation'])
def test_parameters_tag_survives_nbdev_clean(name, tmp_path):
    copy = tmp_path/f'{name}.ipynb'; shutil.copy(NB/f'{name}.ipynb', copy)
    subprocess.run([str(BIN/'nbdev_clean'), '--fname', str(copy)], cwd=ROOT, check=True, capture_output=True)
    cells = json.loads(copy.read_text())['cells']
    assert [c['metadata'].get('tags') for c in cells if c['metadata'].get('tags')] == [['parameters']]

def test_nbdev_test_does_not_run_the_experiment_notebooks():
    r = subprocess.run([str(BIN/'nbdev_test'), '--path', 'nbs/experiments/compare.ipynb'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert 'No files were eligible for testing' in r.stdout, r.stdout + r.stderr

SWEEP = ['sweep', '--presets', 'oneshot_magnitude,unilth', '--sparsities', '0.5,0.9', '--seeds', '0-1', '--train_epochs', '6',
         '--finetune', '3', '--ramp', '2ep', '--stabilize', '1ep', '--batch_size', '25', '--device', 'cpu', '--log_test', 'false', '--quiet']

def test_a_sweep_interrupted_with_ctrl_c_computes_only_what_is_missing(tmp_path):
    args = [str(BIN/'unilth'), *SWEEP, '--workers', '2', '--out', str(tmp_path)]
    # as from a terminal: its own process group, and SIGINT at its default (a background job of a script, as CI may
    # be, inherits SIGINT ignored, and python then installs no KeyboardInterrupt handler)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None and len(list(tmp_path.glob('*/result.json'))) < 2: time.sleep(0.05)
    assert p.poll() is None, 'the sweep ended before it could be interrupted'
    os.killpg(p.pid, signal.SIGINT)                                   # Ctrl-C reaches the whole process group
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'rerun the same command to resume' in err, err
    finished = {q: q.stat().st_mtime_ns for q in tmp_path.glob('*/result.json')}
    assert 2 <= len(finished) < 8
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f'8 runs in {tmp_path}: {len(finished)} finished already, {8 - len(finished)} to run' in r.stdout
    assert {q: q.stat().st_mtime_ns for q in finished} == finished     # nothing finished was run again
    assert len(list(tmp_path.glob('*/result.json'))) == 8
