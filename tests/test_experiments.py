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

def test_es_vs_l2_notebook_compares_every_strength(tmp_path):
    out, res = execute('es_vs_l2', tmp_path, seeds=[0, 1], strengths=[1e-4, 1e-2], budget={'train_epochs': 3, 'patience': 1}, device='cpu', workers=2)
    assert [c['versus'] for c in res['comparisons']] == ['L2 0.0001', 'L2 0.01', 'L2 0.0001 at equal cost', 'L2 0.01 at equal cost', 'L2, best strength of the seed']
    assert all(c['n'] == 2 for c in res['comparisons']) and len(res['says']) == 6
    es = [p for p in res['points'] if p['method'] == 'early stopping']
    assert len(es) == 2 and all(1 <= p['epoch'] <= p['cost'] <= 3 for p in es)
    assert (out/'es_vs_l2.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

def test_nm_notebook_checks_every_ticket_and_compares_it(tmp_path):
    out, res = execute('nm', tmp_path, seeds=[0, 1], presets=['lth'], budget={'train_epochs': 3, 'finetune': 1}, device='cpu', workers=2)
    assert res['checked'] == 2 and res['sparsity'] == 0.5 and res['runs'] == 6           # two 2:4 tickets checked; lth, lth 2:4, dense
    assert [(c['preset'], c['versus'], c['n']) for c in res['comparisons']] == [('lth 2:4', 'lth', 2)]
    assert '| lth 2:4 | 2 |' in (out/'nm.md').read_text() and 'with 2 seeds none of them can be significant, whatever the runs: it takes 6' in (out/'nm.md').read_text()

def test_analysis_notebook_runs_every_analysis_on_a_grid(tmp_path):
    from unilth_nb.sweep import grid, sweep
    runs = tmp_path/'grid'
    sweep(grid(['dense', 'lth', 'unilth', 'dlth', 'snip'], [0.9], [0, 1], **TINY, es_rewind='1', device='cpu', log_test=False), runs, workers=2, progress=False)
    before = {str(p): p.stat().st_mtime_ns for p in runs.rglob('*') if p.is_file()}
    out, res = execute('analysis', tmp_path, runs_dir=str(runs), control_presets=['lth', 'snip'], control_sparsities=[0.9], seeds=[0, 1],
                       instability_presets=['dense', 'lth', 'unilth'], instability_sparsities=[0.0, 0.9], ks=[0, 36], points=5, resolution=4, workers=2)
    assert {r['kind'] for r in res['overlap']['table']} == {'seeds', 'presets', 'rounds'} and res['overlap']['says']   # rounds: LTH's and UniLTH's steps
    assert {r['source'] for r in res['controls']['table']} == {'lth', 'snip'} and res['controls']['ran'] == 12
    assert {(r['preset'], str(r['k'])) for r in res['instability']['table']} >= {('dense', '0'), ('lth', '36'), ('unilth', 'stage1')}
    assert any(r['preset'] == 'lth' and r['ticket'].startswith('round') and r['sparsity'] < 0.85 for r in res['instability']['table'])   # a ticket of LTH's earlier rounds
    assert res['landscape']['plane_of'] == 'unilth' and set(res['landscape']['distance']) == {'lth', 'dlth'}   # the plane's own run: no distance and set(res['seconds']) == {'overlap', 'controls', 'instability', 'landscape'}
    after = {str(p): p.stat().st_mtime_ns for p in runs.rglob('*') if p.is_file() and str(p) in before}
    assert after == before                                                # the grid's runs are read, never written (the controls are new folders beside them)

def test_reproduce_notebook_checks_this_machine_against_the_published_seeds(tmp_path):
    pub = tmp_path/'published'; pub.mkdir()                # a published study of two presets, from the real one's settings and runs
    real = json.loads((ROOT/'nbs'/'results'/'compare'/'results.json').read_text())
    runs = [r for r in real['runs'] if (r['preset'], r['target_sparsity']) in {('dense', 0.0), ('unilth', 0.9)}]
    (pub/'results.json').write_text(json.dumps({'parameters': real['parameters'], 'tuning': real['tuning'], 'runs': runs}))
    out, res = execute('reproduce', tmp_path, published=str(pub), presets=['dense', 'unilth'], seeds=[0, 1], budget=TINY, device='cpu', workers=2)
    rows = {r['preset']: r for r in res['rows']}
    assert set(rows) == {'dense', 'unilth'} and all(r['seeds'] == 2 and r['published_seeds'] == 10 and r['lo'] < r['published'] < r['hi'] for r in rows.values())
    assert all(r['word'] == ('reproduces' if r['lo'] <= r['here'] <= r['hi'] else 'differs') for r in rows.values())
    assert all(r['word'] == 'differs' and r['identical'] == 0 for r in rows.values())      # three epochs are not the published runs
    text = (out/'reproduce.txt').read_text()
    assert len(text.splitlines()) <= 20 and 'No comparison between presets is stated' in text and 'Budget overridden' in text
    assert not any(w in text for w in ('better', 'worse', 'significant'))                # no verdict two seeds cannot carry
    assert (out/'reproduce.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(pm.PapermillExecutionError, match='not in the published study'):
        execute('reproduce', tmp_path, published=str(pub), presets=['lth'], seeds=[0], budget=TINY, device='cpu')

def test_compare_notebook_stays_within_its_bounds(tmp_path):
    sps, seeds, presets = [0.5, 0.9], [0], PRESETS6 + ['snip', 'rigl']
    out, res = execute('compare', tmp_path, presets=presets, sparsities=sps, seeds=seeds, budget=TINY, device='cpu', workers=2,
                       controls=['lth'], control_sparsities=[0.9], score_controls=['snip'])
    assert compare_violations(res, presets, sps, seeds) == []
    controls = {r['preset']: r for r in res['control_runs']}
    assert set(controls) == {'lth/init', 'lth/reinit', 'lth/shuffle', 'snip/invert', 'snip/shuffle', 'snip/reinit'}
    assert all(abs(r['sparsity'] - 0.9) <= 1e-3 for r in controls.values())
    assert len(res['runs']) == 1 + (len(presets) - 1) * len(sps)          # the grid's table holds the grid's runs, not the controls
    assert 'verdicts' in res and 'ticket_test' in res
    assert res['primary'] and {r['verdict'] for r in res['primary']} == {'not resolved'}    # one seed: the one verdict resolves nothing
    found = {(f['preset'], f['versus'], f['target_sparsity']): f['finding'] for f in res['findings']}
    assert found[('snip', 'random_scratch', 0.9)] == 'not resolved' and ('snip/shuffle', 'snip', 0.9) in found   # one seed resolves nothing
    for f in ('compare.ipynb', 'results.csv', 'table.md', 'accuracy_vs_sparsity.png', 'curves.png'):
        assert (out/f).is_file() and (out/f).stat().st_size > 0, f
    assert (out/'accuracy_vs_sparsity.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert res['parameters']['presets'] == presets and res['sweep']['failed'] == []
    # the bounds can fail: a result outside them is reported (what a regressed notebook would produce)
    assert compare_violations(res, presets, sps, seeds, chance=0.999)
    broken = json.loads(json.dumps(res)); broken['runs'][1]['sparsity'] += 0.01; broken['runs'].pop()
    assert len(compare_violations(broken, presets, sps, seeds)) == 2
    # a rerun of the same notebook trains nothing: every run folder is finished
    out2, res2 = execute('compare', tmp_path, presets=presets, sparsities=sps, seeds=seeds, budget=TINY, device='cpu', workers=2,
                         controls=['lth'], control_sparsities=[0.9], score_controls=['snip'])
    assert res2['sweep']['ran'] == 0 and res2['sweep']['skipped'] == len(res['runs']) + len(controls)
    # results.json keeps the invocation that computed the runs (its wall time, workers, CPU), then the rerun's
    first, again = res2['invocations']
    assert first == res['invocations'][0] and first['ran'] == len(res['runs']) + len(controls) and first['workers'] == 2 and first['wall_seconds'] > 0
    assert again['ran'] == 0 and again['cpus'] == os.cpu_count()

@pytest.mark.slow                      # a few minutes: make test-slow
def test_compare_notebook_adds_the_equal_budget_rows(tmp_path):
    "At UniLTH's budget LTH and one-shot magnitude, at LTH's UniLTH/UniDLTH and one-shot: each allocation chosen on the tuning seeds, beside the grid's runs."
    out, res = execute('compare', tmp_path, presets=['lth', 'unilth', 'unidlth', 'oneshot_magnitude'], sparsities=[0.8], seeds=[0, 1],
                       budget={**TINY, 'train_epochs': 6}, device='cpu', workers=2, equal_budget_sparsities=[0.8], equal_budget_seeds=[0, 1], tuning_seeds=[100])
    eb = res['equal_budget']
    rows = {'lth@unilth_epochs', 'oneshot@unilth_epochs', 'oneshot@lth_epochs', 'unilth@lth_epochs', 'unidlth@lth_epochs'}
    assert set(eb['choice']) == {f'{r}@0.8' for r in rows}
    assert {t['row'] for t in eb['tried']} == rows and all(t['seeds'] == 1 for t in eb['tried'])       # tried on the tuning seed only
    sm = {r['preset']: r for r in eb['summary']}
    assert set(sm) == {'lth', 'unilth', 'unidlth', 'oneshot_magnitude'} | rows
    assert all(r['n'] == 2 and abs(r['sparsity'] - 0.8) <= 1e-3 for r in sm.values())
    for row, ref in (('lth@unilth_epochs', 'unilth'), ('oneshot@unilth_epochs', 'unilth'), ('oneshot@lth_epochs', 'lth'), ('unilth@lth_epochs', 'lth'), ('unidlth@lth_epochs', 'lth')):
        assert abs(sm[row]['epochs'] - sm[ref]['epochs']) <= 0.2 * sm[ref]['epochs'], row    # equal cost, up to rounding
    assert '| lth@unilth_epochs |' in (out/'equal_budget.md').read_text() and (out/'equal_budget.csv').is_file()
    assert 'The rows equalise training epochs, not FLOPs' in (out/'equal_budget.md').read_text() and 'x FLOPs' in (out/'equal_budget.md').read_text()
    assert eb['ran'] == len(eb['tried']) + len(rows) * 2 and eb['workers'] == 2 and eb['wall_seconds'] > 0
    assert eb['runs'] == eb['ran'] and eb['run_seconds'] > 0 and eb['settings_from'] is None and eb['reproduced'] is None
    _, again = execute('compare', tmp_path, presets=['lth', 'unilth', 'unidlth', 'oneshot_magnitude'], sparsities=[0.8], seeds=[0, 1],
                       budget={**TINY, 'train_epochs': 6}, device='cpu', workers=2, equal_budget_sparsities=[0.8], equal_budget_seeds=[0, 1], tuning_seeds=[100])
    e2 = again['equal_budget']                          # resumed: nothing computed, every run and its compute still counted
    assert (e2['ran'], e2['runs'], e2['run_seconds'], e2['says']) == (0, eb['runs'], eb['run_seconds'], eb['says'])
    # the equal-cost family in words, Holm-adjusted together; this grid has no gmp or rigl, so their pairs are left out
    assert {(d['preset'], d['versus']) for d in eb['says']} == {('unilth', 'lth@unilth_epochs'), ('unilth', 'oneshot@unilth_epochs'), ('unilth@lth_epochs', 'lth'),
                                                               ('unidlth@lth_epochs', 'lth'), ('oneshot@lth_epochs', 'lth')}
    assert all(' over 2 seeds (cannot be significant with 2 seeds in 5 comparisons; ' in d['sentence'] for d in eb['says'])
    assert "Holm-adjusted over its 5 comparisons. With 2 seeds this family can call no difference" in (out/'equal_budget.md').read_text()
    assert (eb['family'], eb['min_seeds']) == (5, 8)                     # 5 x 2/2^8 < 0.05: eight seeds would let it reject

def test_compare_notebook_tunes_on_the_tuning_seeds_before_the_test_grid(tmp_path):
    search = {'dense': [{'lr': 0.2}, {'lr': 1e-4}], 'oneshot_magnitude': [{'finetune_lr': 0.2}, {'finetune_lr': 1e-4}]}
    out, res = execute('compare', tmp_path, presets=['dense', 'oneshot_magnitude'], sparsities=[0.9], seeds=[0], budget=TINY, device='cpu', workers=2,
                       tune=True, tuning_seeds=[100], tuning_sparsity=0.9, search=search, extra_sparsities={'oneshot_magnitude': [0.95]})
    t = res['tuning']
    assert {(r['preset'], r['target_sparsity']) for r in res['runs']} == {('dense', 0.0), ('oneshot_magnitude', 0.9), ('oneshot_magnitude', 0.95)}   # one preset's extra sparsity
    assert t['chosen'] == {'dense': {'lr': 0.2}, 'oneshot_magnitude': {'finetune_lr': 0.2}} and len(t['trials']) == 4 and t['ran'] == 4
    assert {r['seed'] for r in res['runs']} == {0}                        # the test grid: test seeds only
    runs = {r['preset']: r for r in res['runs']}
    assert json.loads((out/'tuning.json').read_text())['chosen'] == t['chosen'] and len(runs) == 2
    (tmp_path/'bad').mkdir()
    with pytest.raises(pm.PapermillExecutionError) as e:
        execute('compare', tmp_path/'bad', presets=['dense'], sparsities=[0.9], seeds=[0, 100], budget=TINY, device='cpu', workers=1, tune=True, tuning_seeds=[100], search=search)
    assert 'a tuning seed is a test seed' in str(e.value)
    again = dict(presets=['dense', 'oneshot_magnitude'], sparsities=[0.9], seeds=[0], budget=TINY, device='cpu', workers=2,
                 extra_sparsities={'oneshot_magnitude': [0.95]}, settings_from=str(out/'results.json'))
    (tmp_path/'again').mkdir()
    out2, res2 = execute('compare', tmp_path/'again', **again)          # the earlier tuning's choices, not tuned again: the same runs, identical here
    assert res2['tuning'] == {'settings_from': str(out/'results.json'), 'chosen': t['chosen']} and res2['sweep']['ran'] == 3
    assert sorted(r['run'] for r in res2['runs']) == sorted(r['run'] for r in res['runs'])
    assert res2['reproduced'] == {'runs': 3, 'published': 3, 'identical': 3}
    with pytest.raises(pm.PapermillExecutionError) as e:
        execute('compare', tmp_path/'again', **again, tune=True, tuning_seeds=[100], search=search)
    assert 'tune, or settings_from (an earlier tuning), not both' in str(e.value)
    with pytest.raises(pm.PapermillExecutionError) as e:            # settings chosen for another budget are not this grid's
        execute('compare', tmp_path/'again', **{**again, 'budget': {**TINY, 'train_epochs': 4}})
    assert "was tuned with budget=" in str(e.value)

def test_ablation_notebook_stays_within_its_bounds(tmp_path):
    variations = {'patience': [1, 2], 'shape': ['linear', 'x^3'], 'cycles': [1, 3]}
    out, res = execute('ablation', tmp_path, seeds=[0], variations=variations, budget=TINY, device='cpu', workers=1)
    cells = {(r['knob'], r['value'], r['seed']) for r in res['runs']}
    assert cells == {(k, str(v), 0) for k, vs in variations.items() for v in vs}
    for r in res['runs']:
        assert abs(r['sparsity'] - 0.9) <= 1e-3 and math.isfinite(r['test_acc']) and r['test_acc'] > CHANCE, r
    for f in ('ablation.ipynb', 'results.csv', 'table.md', 'ablation.png'): assert (out/f).stat().st_size > 0, f

def test_ablation_notebook_takes_unilths_parts_out_at_equal_cost(tmp_path):
    out, res = execute('ablation', tmp_path, seeds=[0], variations={'patience': [1]}, budget=TINY, device='cpu', workers=2,
                       parts=['unilth', 'no penalty', 'fixed warm-up', 'one cycle'], parts_sparsities=[0.9], parts_seeds=[0, 1])
    p = res['parts']
    runs = {}
    for r in p['runs']: runs.setdefault(r['preset'], []).append(r)
    assert set(runs) == {'unilth', 'no penalty', 'fixed warm-up', 'one cycle'} and all(len(v) == 2 for v in runs.values())
    mean = {k: sum(r['epochs'] for r in v) / len(v) for k, v in runs.items()}
    for k in ('no penalty', 'fixed warm-up', 'one cycle'): assert abs(mean[k] - mean['unilth']) <= 2, (k, mean)     # equal cost, up to rounding
    assert len(p['verdicts']) == 3 and all('vs unilth over 2 seeds (cannot be significant with 2 seeds in 3 comparisons;' in v for v in p['verdicts']), p['verdicts']
    assert (p['family'], p['min_seeds']) == (3, 7) and 'With 2 seeds this family of 3 comparisons can call no difference' in (out/'parts.md').read_text()

def test_a_bad_parameter_fails_the_notebook_with_papermills_error(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as e:
        execute('compare', tmp_path, presets=['dense', 'nope'], sparsities=[0.5], seeds=[0], budget=TINY, device='cpu', workers=1)
    assert "unknown preset 'nope'" in str(e.value)

def test_lrr_notebook_stays_within_its_bounds(tmp_path):
    out, res = execute('lrr', tmp_path, seeds=[0, 1], weight_decays=[0.0, 5e-4], sparsity=0.9, budget={'train_epochs': 3}, device='cpu', workers=2)
    assert {(r['preset'], r['weight_decay'], r['seed']) for r in res['runs']} == {(p, wd, s) for p in ('lrr', 'lth') for wd in (0.0, 5e-4) for s in (0, 1)}
    assert all(math.isfinite(r['test_acc']) and r['test_acc'] > CHANCE and abs(r['final_train_loss']) < 10 for r in res['runs'])
    assert len(res['verdicts']) == 3 and all(' vs lth@wd0 over 2 seeds (' in v for v in res['verdicts']), res['verdicts']
    assert ('initialization', 0.0) in {(r['preset'], r['weight_decay']) for r in res['rms']}
    assert (out/'rounds.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

def test_sparse_init_notebook_rescales_and_measures_the_start(tmp_path):
    out, res = execute('sparse_init', tmp_path, presets=['random_scratch', 'rigl'], sparsities=[0.9], seeds=[0, 1], budget={'train_epochs': 3},
                       settings_from='', grid_results='', device='cpu', workers=2)
    by = {(r['method'], r['sparse_init'], r['seed']): r for r in res['runs']}
    assert set(by) == {(p, h, s) for p in ('random_scratch', 'rigl') for h in ('none', 'fan_in') for s in (0, 1)}
    assert all(r['same_mask'] is True for r in res['runs'] if r['method'] == 'random_scratch')     # the rebuilt start is the run's own network
    for p in ('random_scratch', 'rigl'):
        for s in (0, 1): assert by[p, 'fan_in', s]['signal'] > 3 * by[p, 'none', s]['signal'] > 0   # at 90%, two pruned layers: the rescale gives the signal back
    assert all(math.isfinite(r['test_acc']) and r['kept_fan_in'] < r['dense_fan_in'] for r in res['runs'])
    assert len(res['verdicts']) == 2 and all(' over 2 seeds (' in v for v in res['verdicts']), res['verdicts']
    assert (out/'sparse_init.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and '| method | sparsity | sparse_init |' in (out/'sparse_init.md').read_text()
    assert all(r['stuck_at'] == 3 for r in res['runs']) and '| stuck (epoch 3) |' in (out/'sparse_init.md').read_text()   # a 3-epoch run is judged at its last epoch
    (tmp_path/'late').mkdir()
    with pytest.raises(pm.PapermillExecutionError) as e:                  # a preset that prunes after training does not start sparse
        execute('sparse_init', tmp_path/'late', presets=['lth'], sparse_inits=['none'], sparsities=[0.9], seeds=[0], settings_from='', grid_results='', workers=1)
    assert 'lth: not sparse from the start of training' in str(e.value)

@pytest.mark.parametrize('name', ['compare', 'ablation', 'lrr', 'sparse_init', 'reproduce'])
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
