"""Defaults that fit the user's data: every preset runs with its defaults on small, large and odd datasets registered without a
budget (wine, iris, a 9:1 two-class task, 100 classes, 200,000 examples), reaches its target sparsity, and prints its plan with
--dry-run; a setting of yours that the data cannot carry is one line naming it."""
import contextlib, io, json, sys, textwrap
from pathlib import Path
import pytest, torch

DATASETS_MODULE = textwrap.dedent('''
    "Datasets of a new user, registered without budgets."
    import numpy as np
    from sklearn.datasets import load_wine, load_iris
    from unilth_nb.all import register_dataset

    def _split(x, y, test):
        perm = np.random.default_rng(0).permutation(len(x)); k = round(test * len(x))
        x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
        return {'train': (x[perm[k:]], y[perm[k:]]), 'test': (x[perm[:k]], y[perm[:k]])}

    def _blobs(n, classes, dim, weights=None):
        g = np.random.default_rng(0); centers = g.normal(scale=2.0, size=(classes, dim))
        y = g.choice(classes, size=n, p=weights); return (centers[y] + g.normal(size=(n, dim))).astype(np.float32), y

    @register_dataset('wine')
    def wine(seed=0): return _split(*load_wine(return_X_y=True), 0.25)          # 178 examples, 3 classes

    @register_dataset('iris')
    def iris(seed=0): return _split(*load_iris(return_X_y=True), 0.2)           # 150 examples, 3 classes

    @register_dataset('binary')
    def binary(seed=0):                                                          # two classes, 9 to 1
        x, y = _blobs(600, 2, 8, weights=[0.9, 0.1]); return {'train': (x[:500], y[:500]), 'test': (x[500:], y[500:])}

    @register_dataset('hundred')
    def hundred(seed=0):                                                         # 100 classes
        x, y = _blobs(6000, 100, 32); return {'train': (x[:5000], y[:5000]), 'test': (x[5000:], y[5000:])}

    @register_dataset('big')
    def big(seed=0):                                                             # 200,000 training examples
        x, y = _blobs(210_000, 10, 20); return {'train': (x[:200_000], y[:200_000]), 'test': (x[200_000:], y[200_000:])}
''')
SHORT = dict(train_epochs=2, finetune=1, ramp='0.5ep', stabilize='0.25ep', cycles=2, patience=1)   # for 200,000 examples on 2 CPU cores

@pytest.fixture(scope='module')
def datasets(tmp_path_factory):
    path = tmp_path_factory.mktemp('mine')/'my_datasets.py'
    path.write_text(DATASETS_MODULE)
    from unilth_nb.core import import_modules
    import_modules([path])
    return path

def cli(*argv):
    from unilth_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main(list(argv))
    return code, out.getvalue(), err.getvalue()

@pytest.mark.parametrize('dataset', ['wine', 'iris', 'binary', 'hundred', 'big'])
def test_dry_run_prints_the_plan_and_writes_nothing(datasets, dataset, tmp_path):
    code, out, err = cli('run', '--import', str(datasets), '--preset', 'unilth', '--dataset', dataset, '--sparsity', '0.8',
                         '--dry-run', '--out', str(tmp_path))
    assert code == 0, err
    assert 'optimizer steps per epoch' in out and 'prune 5/5' in out and 'in all:' in out, out
    assert list(tmp_path.iterdir()) == []
    if dataset in ('wine', 'iris'): assert "fitted to the data: batch" in out and 'a validation split of 30 examples' in out, out
    if dataset == 'big': assert 'fitted' not in out and 'batch 128: 1407 optimizer steps per epoch' in out, out

def test_a_setting_of_yours_the_data_cannot_carry_is_one_line(datasets, tmp_path):
    wine = ['run', '--import', str(datasets), '--preset', 'unilth', '--dataset', 'wine', '--out', str(tmp_path)]
    code, out, err = cli(*wine, '--batch_size', '120', '--interval', '6')
    assert code == 2 and err.count('\n') == 1 and list(tmp_path.iterdir()) == [], err
    assert 'batch_size 120 leaves 1 optimizer step(s) per epoch' in err and 'give batch_size <= 13 (8 steps per epoch)' in err, err
    code, _, err = cli(*wine, '--ramp', '3it', '--interval', '10')
    assert code == 2 and "ramp '3it': the growth ramp '3it' is 3 optimizer step(s)" in err and "give ramp >= '10it'" in err, err
    code, _, err = cli(*wine, '--interval', '50')
    assert code == 2 and 'interval 50:' in err and 'give interval <= 32' in err, err
    assert cli(*wine, '--batch_size', '120', '--dry-run')[0] == 0          # yours alone can be carried: the default interval fits the ramp

def test_the_imbalanced_task_gets_a_stratified_validation_split(datasets):
    from unilth_nb.datasets import get_data
    d = get_data('binary', fit_val=True)
    share = float(d.val.y.float().mean()); total = float(torch.cat([d.train.y, d.val.y]).float().mean())
    assert abs(share - total) <= 1 / len(d.val.y), (share, total)

def run_every_preset(dataset, out, module, seeds=(0,), **overrides):
    "Every standalone preset on `dataset` with its defaults, a sweep of two workers that import the user's `module`."
    from unilth_nb.config import STANDALONE
    from unilth_nb.sweep import configure, sweep
    from unilth_nb.store import run
    # configure: the shared settings, less the switches a method sets itself (GMP's one prune step)
    configs = {(p, s): configure(p, dataset, sparsity=0.8, seed=s, imports=(str(module),), **overrides)
               for p in STANDALONE for s in seeds}
    summary = sweep(list(configs.values()), out, workers=2, progress=False, log=lambda *a: None)
    assert summary['ran'] == len(configs) and not summary['failed'], summary
    results = {k: run(c, out, progress=False) for k, c in configs.items()}   # finished: read back, nothing trained
    for (preset, _), r in results.items():
        want = 0.0 if preset == 'dense' else 0.8
        assert abs(r.sparsity['prunable'] - want) <= 1e-3, (dataset, preset, r.sparsity)
    return results

def test_every_preset_runs_with_its_defaults_on_wine(datasets, tmp_path):
    res = run_every_preset('wine', tmp_path, datasets)
    assert all(r.plan['batch_size'] == 13 and r.plan['sizes'] == {'train': 104, 'val': 30, 'test': 44} for r in res.values())
    assert res['dense', 0].test_acc > 0.8                                       # a working network on 103 training examples

@pytest.mark.slow
@pytest.mark.parametrize('dataset', ['iris', 'binary', 'hundred'])
def test_every_preset_runs_with_its_defaults_on_small_and_odd_data(datasets, dataset, tmp_path):
    res = run_every_preset(dataset, tmp_path, datasets)
    assert res['dense', 0].test_acc > 0.5, res['dense', 0].test_acc

@pytest.mark.slow
def test_every_preset_runs_on_200000_examples_with_short_budgets_given(datasets, tmp_path):
    res = run_every_preset('big', tmp_path, datasets, **SHORT)
    assert all(r.plan['steps_per_epoch'] == 1407 for r in res.values())
