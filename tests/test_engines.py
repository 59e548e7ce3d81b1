"""Sweeps on the three backends: local processes, Ray tasks (a local Ray cluster), submitit jobs (its local executor): identical
results for every run, a failed run reported by name while the others go on, an interrupted sweep that resumes, and the optional
engines' install hint when they are missing."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from unilth_nb.config import make_config
from unilth_nb.store import run_dir, read_result
from unilth_nb.sweep import grid, sweep

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TINY = dict(train_epochs=3, finetune=1, ramp='1ep', stabilize='1ep', patience=1, batch_size=50, device='cpu', log_test=False)
BACKENDS = {'local': {}, 'ray': {}, 'submitit': dict(cluster='local', timeout_min=30)}

def test_the_same_sweep_gives_identical_results_on_local_ray_and_submitit(tmp_path):
    pytest.importorskip('ray'); pytest.importorskip('submitit')
    good = grid(['oneshot_magnitude', 'unilth', 'snip', 'rigl'], [0.8], [0, 1], **TINY)
    bad = make_config('dense', lr=1e9, **TINY)                            # diverges in its first epoch
    results, logs = {}, {}
    for backend, opts in BACKENDS.items():
        out = tmp_path/backend; logs[backend] = []
        s = sweep(good + [bad], out, workers=2, backend=backend, log=logs[backend].append, **opts)
        assert s['ran'] == len(good) + 1 and [n for n, _ in s['failed']] == [bad.name], s['failed']
        assert 'DivergedError' in s['failed'][0][1]
        assert any(bad.name in line and 'failed' in line for line in logs[backend])
        results[backend] = {c.name: (r.test_acc, r.test_loss, r.sparsity['prunable'])
                            for c in good for r in [read_result(run_dir(c, out), c)]}
    assert len(results['local']) == len(good)
    assert results['local'] == results['ray'] == results['submitit']      # same machine, one thread per run: bit for bit
    again = sweep(good, tmp_path/'ray', workers=2, backend='ray', log=lambda s: None)
    assert (again['skipped'], again['ran']) == (len(good), 0)             # finished runs are skipped

SWEEP = ['sweep', '--presets', 'oneshot_magnitude,unilth', '--sparsities', '0.5,0.9', '--seeds', '0', '--train_epochs', '6',
         '--finetune', '3', '--ramp', '2ep', '--stabilize', '1ep', '--batch_size', '25', '--device', 'cpu', '--log_test', 'false', '--quiet']

@pytest.mark.slow                      # (resume after Ctrl-C on the local backend: test_experiments.py, in make test)
@pytest.mark.parametrize('backend', ['ray', 'submitit'])
def test_a_sweep_interrupted_on_an_engine_computes_only_what_is_missing(backend, tmp_path):
    pytest.importorskip(backend)
    args = [str(BIN/'unilth'), *SWEEP, '--workers', '2', '--out', str(tmp_path), '--backend', backend, '--cluster', 'local']
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None and len(list(tmp_path.glob('*/result.json'))) < 1: time.sleep(0.05)
    assert p.poll() is None, 'the sweep ended before it could be interrupted'
    os.kill(p.pid, signal.SIGINT)                                         # Ctrl-C to the sweep's process
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'rerun the same command to resume' in err, err[-2000:]
    time.sleep(1)
    finished = {q: q.stat().st_mtime_ns for q in tmp_path.glob('*/result.json')}
    assert 1 <= len(finished) < 4
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'4 runs in {tmp_path}: {len(finished)} finished already, {4 - len(finished)} to run' in r.stdout, r.stdout
    assert {q: q.stat().st_mtime_ns for q in finished} == finished        # nothing finished was run again
    assert len(list(tmp_path.glob('*/result.json'))) == 4

@pytest.mark.parametrize('module,extra', [('ray', 'ray'), ('submitit', 'slurm')])
def test_a_missing_engine_says_how_to_install_it(module, extra, tmp_path):
    fake = tmp_path/'site'/module; fake.mkdir(parents=True)
    (fake/'__init__.py').write_text(f'raise ImportError("No module named {module!r}")\n')   # as if not installed
    r = subprocess.run([str(BIN/'unilth'), 'sweep', '--backend', module, '--cluster', 'local', '--presets', 'dense', '--out', str(tmp_path/'runs')],
                       capture_output=True, text=True, timeout=120, env={**os.environ, 'PYTHONPATH': str(tmp_path/'site')})
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert f"pip install 'unilth_nb[{extra}]'" in r.stderr
    assert not (tmp_path/'runs').exists()
