"The pipeline end to end through the `unilth` command: presets, run folders, resume after SIGKILL, bad input."
import csv, hashlib, json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from unilth_nb.config import PRESETS, STANDALONE, make_config
from unilth_nb.store import run_dir

UNILTH = [str(Path(sys.executable).parent/'unilth')]
TINY = ['--train_epochs', '2', '--finetune', '1', '--ramp', '1ep', '--stabilize', '1ep', '--patience', '1',
        '--device', 'cpu', '--log_test', 'false', '--quiet']

def unilth(*args, timeout=300):
    return subprocess.run(UNILTH + list(args), capture_output=True, text=True, timeout=timeout, env={**os.environ, 'UNILTH_QUIET': '1'})

def snapshot(folder: Path) -> dict:
    "Every file under `folder` with its content hash and mtime."
    return {str(p.relative_to(folder)): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob('*')) if p.is_file()}

@pytest.mark.parametrize('preset', list(STANDALONE))
def test_every_preset_from_the_cli_reaches_its_sparsity(preset, tmp_path):
    r = unilth('run', '--preset', preset, '--dataset', 'mnist1d', '--model', 'cnn1d', '--sparsity', '0.9', '--seed', '0',
               '--out', str(tmp_path), *TINY)
    assert r.returncode == 0, r.stderr
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith(preset + '_')
    res = json.loads((folder/'result.json').read_text())
    want = 0.0 if preset == 'dense' else 0.9
    assert abs(res['sparsity']['prunable'] - want) <= 1e-3
    assert res['sparsity']['all_weights'] <= res['sparsity']['prunable']
    for f in ('config.json', 'metrics.csv', 'checkpoint.pt'): assert (folder/f).is_file(), f
    cost = res['cost']
    assert cost['total']['epochs'] == sum(v['epochs'] for k, v in cost.items() if k != 'total') > 0
    assert cost['total']['iterations'] > 0 and cost['total']['seconds'] > 0
    rows = list(csv.DictReader(open(folder/'metrics.csv')))
    assert len(rows) == cost['total']['epochs']
    assert set(rows[0]) >= {'phase', 'cycle', 'epoch', 'train_loss', 'val_loss', 'val_acc', 'test_acc', 'sparsity', 'lam', 'wall_time'}
    if preset != 'dense':
        assert (folder/'masks'/f"cycle_{res['cycles']}.pt").is_file()
    assert f"test accuracy" in r.stdout and str(folder) in r.stdout

def test_help_lists_every_field_with_its_default():
    r = unilth('run', '--help')
    assert r.returncode == 0
    from unilth_nb.cli import NOT_OPTIONS
    for field in make_config('unilth').__dataclass_fields__:
        if field not in NOT_OPTIONS: assert f'--{field}' in r.stdout, field
    assert '--import MODULE_OR_FILE' in r.stdout and '--model_args' in r.stdout and '--width' not in r.stdout
    assert "(default: 'early_stop'" in r.stdout and '(default: 0.9' in r.stdout

RESUME = ['--preset', 'unilth', '--sparsity', '0.9', '--seed', '3', '--train_epochs', '8', '--patience', '2', '--cycles', '2',
          '--ramp', '4ep', '--stabilize', '1ep', '--finetune', '2', '--batch_size', '20', '--device', 'cpu', '--log_test', 'false', '--quiet']

def test_sigkill_in_a_regularization_phase_then_resume_gives_the_same_result(tmp_path):
    a, b = tmp_path/'a', tmp_path/'b'
    assert unilth('run', '--out', str(a), *RESUME).returncode == 0
    p = subprocess.Popen(UNILTH + ['run', '--out', str(b), *RESUME], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_in = None
    deadline = time.time() + 240
    while time.time() < deadline and p.poll() is None:
        ms = list(b.glob('*/metrics.csv'))
        if ms:
            rows = list(csv.DictReader(open(ms[0])))
            if rows and rows[-1]['phase'] == 'regularize':
                p.send_signal(signal.SIGKILL); p.wait(); killed_in = rows[-1]; break
        time.sleep(0.02)
    assert killed_in is not None, 'the run ended before it could be killed in a regularization phase'
    (folder,) = b.iterdir()
    assert not (folder/'result.json').exists() and (folder/'checkpoint.pt').is_file() and (folder/'checkpoint.prev.pt').is_file()
    r = unilth('run', '--out', str(b), *RESUME)
    assert r.returncode == 0, r.stderr
    ra = json.loads(next(a.glob('*/result.json')).read_text()); rb = json.loads((folder/'result.json').read_text())
    for k in ('test_acc', 'val_acc', 'test_loss', 'sparsity', 'prune_events', 'stage1', 'cycles'): assert ra[k] == rb[k], k
    assert {k: v['epochs'] for k, v in ra['cost'].items()} == {k: v['epochs'] for k, v in rb['cost'].items()}
    rows = [[{k: v for k, v in r.items() if k != 'wall_time'} for r in csv.DictReader(open(next(d.glob('*/metrics.csv'))))] for d in (a, b)]
    assert rows[0] == rows[1] and len(rows[0]) == ra['cost']['total']['epochs']   # no row lost or doubled by the kill
    ma, mb = (torch.load(next(d.glob('*/masks/cycle_2.pt')), weights_only=True)['masks'] for d in (a, b))
    assert all(torch.equal(ma[n], mb[n]) for n in ma)

def test_rerunning_a_finished_run_trains_nothing(tmp_path):
    args = ['run', '--preset', 'oneshot_magnitude', '--out', str(tmp_path), *TINY]
    first = unilth(*args); assert first.returncode == 0
    before = snapshot(tmp_path)
    again = unilth(*args)
    assert again.returncode == 0 and again.stdout == first.stdout
    assert snapshot(tmp_path) == before            # no file written, not even touched

@pytest.fixture(scope='module')
def finished_dense(tmp_path_factory):
    "A folder holding one finished dense run, trained once for every bad-input case."
    out = tmp_path_factory.mktemp('finished')
    assert unilth('run', '--preset', 'dense', '--out', str(out), *TINY).returncode == 0
    return out

@pytest.mark.parametrize('args, message', [
    (['--preset', 'lth2'], "unknown preset 'lth2'; allowed: lth, lrr, dlth, dlth_iter, greg, unilth, unidlth, dense, oneshot_magnitude, random_scratch"),
    (['--dataset', 'imagenet'], "unknown dataset 'imagenet'; allowed: mnist1d, digits, mnist, fashion_mnist, cifar10, cifar100"),
    (['--model', 'alexnet'], "unknown model 'alexnet'; allowed: mlp, cnn1d, lenet300"),
    (['--learning_rate', '0.1'], 'unrecognized arguments: --learning_rate 0.1'),
    (['--sparsity', '1'], 'sparsity must lie in [0, 1), got 1.0'),
    (['--sparsity', '-0.2'], 'sparsity must lie in [0, 1), got -0.2'),
    (['--preset', 'lth', '--rewind_to', 'soon'], "cannot parse rewind_to 'soon': write iterations as '500it' or epochs as '2ep'"),
    (['--ramp', '10 epochs'], "cannot parse ramp '10 epochs'"),
    (['--shape', 'exp'], "unknown shape 'exp'; allowed: linear, x^2, x^3"),
])
def test_bad_input_exits_2_with_one_line_and_changes_no_run_folder(finished_dense, tmp_path, args, message):
    shutil.copytree(finished_dense, tmp_path, dirs_exist_ok=True)     # a finished run in the folder bad input is given
    before = snapshot(tmp_path)
    r = unilth('run', '--out', str(tmp_path), '--quiet', *args)
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and r.stderr.startswith('unilth: error: ') and message in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and r.stdout == ''
    assert snapshot(tmp_path) == before

def test_a_diverging_run_fails_clearly_and_keeps_finished_results(finished_dense, tmp_path):
    shutil.copytree(finished_dense, tmp_path, dirs_exist_ok=True)
    before = snapshot(tmp_path)
    r = unilth('run', '--preset', 'oneshot_magnitude', '--lr', '1e6', '--out', str(tmp_path), *TINY)
    assert r.returncode == 1 and r.stderr.startswith('unilth: error: training diverged') and r.stderr.count('\n') == 1, r.stderr
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before   # the finished dense run is untouched
