"The run store under faults: corrupt files, concurrent runs, a full disk, kills at random points, bad inputs, `unilth check`."
import csv, hashlib, json, os, random, resource, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch

UNILTH = [str(Path(sys.executable).parent/'unilth')]
SHORT = ['--preset', 'unilth', '--sparsity', '0.8', '--seed', '1', '--train_epochs', '6', '--patience', '2', '--cycles', '2',
         '--ramp', '1ep', '--stabilize', '1ep', '--finetune', '2', '--batch_size', '50', '--device', 'cpu', '--log_test', 'false', '--quiet']
TINY = ['--train_epochs', '2', '--finetune', '1', '--ramp', '1ep', '--stabilize', '1ep', '--patience', '1', '--device', 'cpu',
        '--log_test', 'false', '--quiet']

def unilth(*args, timeout=300, **kw):
    return subprocess.run(UNILTH + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, 'UNILTH_QUIET': '1', 'OMP_NUM_THREADS': '1'}, **kw)

def start(*args, **kw):
    return subprocess.Popen(UNILTH + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, 'UNILTH_QUIET': '1', 'OMP_NUM_THREADS': '1'}, **kw)

def outcome(folder: Path) -> dict:
    "What must be the same after any fault: the result without its timings, and the metrics rows without wall time."
    r = json.loads((folder/'result.json').read_text())
    rows = [{k: v for k, v in row.items() if k != 'wall_time'} for row in csv.DictReader(open(folder/'metrics.csv'))]
    return {'result': {k: r[k] for k in ('test_acc', 'test_loss', 'val_acc', 'sparsity', 'prune_events', 'stage1', 'cycles')},
            'epochs': {k: v['epochs'] for k, v in r['cost'].items()}, 'rows': rows}

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp('ref')
    assert unilth('run', '--out', str(out), *SHORT).returncode == 0
    (folder,) = out.iterdir()
    return folder, outcome(folder)

def the_folder(out: Path) -> Path:
    (folder,) = [d for d in out.iterdir() if d.is_dir()]
    return folder

def kill_at_random_points(reference, tmp_path, trials:int) -> int:
    "Kill a run at `trials` random points, rerun it each time, check it ends with the reference's result; the number of kills that landed inside the run."
    ref_folder, ref = reference
    rng, interrupted = random.Random(0), 0
    for trial in range(trials):
        out = tmp_path/f't{trial}'
        p = start('run', '--out', str(out), *SHORT)
        while p.poll() is None and not list(out.glob('*/config.json')): time.sleep(0.01)
        time.sleep(rng.uniform(0, 2.0))                         # training takes about 2 s here
        p.send_signal(signal.SIGKILL); p.wait()
        interrupted += not list(out.glob('*/result.json'))
        r = unilth('run', '--out', str(out), *SHORT)
        assert r.returncode == 0, (trial, r.stderr)
        got = outcome(the_folder(out))
        assert got == ref, f"trial {trial} differs"
        epochs = [row['epoch'] for row in got['rows']]
        assert epochs == sorted(set(epochs), key=int)           # no epoch lost or doubled
    return interrupted

def test_a_run_killed_at_random_points_always_ends_with_the_same_result(reference, tmp_path):
    assert kill_at_random_points(reference, tmp_path, 8) >= 5                # the kills did land inside the runs

@pytest.mark.slow                      # about 4 minutes: make test-slow
def test_a_run_killed_at_thirty_random_points_always_ends_with_the_same_result(reference, tmp_path):
    assert kill_at_random_points(reference, tmp_path, 30) >= 22

def test_concurrent_runs_of_one_config_run_once(reference, tmp_path):
    ref_folder, ref = reference
    a, b = start('run', '--out', str(tmp_path), *SHORT), start('run', '--out', str(tmp_path), *SHORT)
    (ra, ea), (rb, eb) = (a.wait(), a.stderr.read()), (b.wait(), b.stderr.read())
    assert sorted([ra, rb]) == [0, 3], (ra, rb, ea, eb)
    busy = ea if ra == 3 else eb
    assert 'is in progress (pid' in busy and busy.count('\n') == 1, busy
    assert outcome(the_folder(tmp_path)) == ref                # one complete metrics.csv, no duplicated epoch
    # --wait: the second waits for the first and then reads its result
    out = tmp_path/'wait'
    a = start('run', '--out', str(out), *SHORT)
    while not list(out.glob('*/.lock.owner')): time.sleep(0.05)
    b = start('run', '--wait', '--out', str(out), *SHORT)
    assert (a.wait(), b.wait()) == (0, 0)
    assert b.stdout.read() == a.stdout.read()                  # the waiting one reports the run the other made
    assert outcome(the_folder(out)) == ref

def test_a_corrupt_result_is_moved_aside_and_recomputed(reference, tmp_path):
    ref_folder, ref = reference
    folder = tmp_path/ref_folder.name; shutil.copytree(ref_folder, folder)
    (folder/'result.json').write_text('{"test_acc": 0.9')            # cut short
    r = unilth('run', '--out', str(tmp_path), *SHORT)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    (warning,) = r.stderr.splitlines()
    assert warning.startswith(f"unilth: warning: '{folder/'result.json'}' is unreadable (not JSON") and 'moved aside to result.json.corrupt-' in warning
    assert outcome(folder) == ref and len(list(folder.glob('result.json.corrupt-*'))) == 1

def test_report_skips_and_names_unreadable_and_unfinished_runs(reference, tmp_path):
    ref_folder, ref = reference
    for where in (tmp_path, tmp_path/'sub'): shutil.copytree(ref_folder, where/ref_folder.name)
    (tmp_path/'sub'/ref_folder.name/'result.json').write_bytes(b'\x00\xff garbage')
    unfinished = tmp_path/'lth_bbbbbbbbbbbb'; unfinished.mkdir(); (unfinished/'config.json').write_text('{}')
    r = unilth('report', str(tmp_path), '--out', str(tmp_path/'report'))
    assert r.returncode == 0, r.stderr
    left = [l for l in r.stderr.splitlines() if l.startswith('unilth: left out')]
    assert len(left) == 2 and any('lth_bbbbbbbbbbbb: unfinished' in l for l in left)
    assert any(f'{ref_folder.name}: result.json unreadable' in l for l in left), left
    assert '2 run folder(s) left out' in r.stdout and json.loads((tmp_path/'report'/'results.json').read_text())['runs'][0]['run'] == ref_folder.name

def test_a_truncated_checkpoint_falls_back_to_the_previous_one_or_restarts(reference, tmp_path):
    ref_folder, ref = reference
    for broken in (['checkpoint.pt'], ['checkpoint.pt', 'checkpoint.prev.pt']):
        for attempt in range(5):                                   # a kill between the two renames leaves one file: try again
            out = tmp_path/f"{'_'.join(broken)}_{attempt}"
            p = start('run', '--out', str(out), *SHORT)
            deadline = time.time() + 60
            while time.time() < deadline and not (list(out.glob('*/checkpoint.prev.pt')) and list(out.glob('*/masks/cycle_1.pt'))): time.sleep(0.05)
            p.send_signal(signal.SIGKILL); p.wait()
            folder = the_folder(out)
            if all((folder/name).is_file() for name in broken): break
        for name in broken:
            data = (folder/name).read_bytes(); (folder/'cut').write_bytes(data[:len(data) // 2]); os.replace(folder/'cut', folder/name)
        r = unilth('run', '--out', str(out), *SHORT)
        assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
        warnings = r.stderr.splitlines()
        assert len(warnings) == len(broken) and all("is unreadable (" in w and 'moved aside' in w for w in warnings), warnings
        assert outcome(folder) == ref

def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(path)], capture_output=True).returncode == 0

def test_a_full_disk_is_one_line_and_keeps_finished_results_and_the_last_checkpoint(reference, tmp_path):
    ref_folder, ref = reference
    disk = tmp_path/'disk'
    mounted = _mount_tmpfs(disk, '1200k')
    try:
        finished = disk/ref_folder.name
        shutil.copytree(ref_folder, finished, ignore=shutil.ignore_patterns('checkpoint*', 'stage1*'))
        before = {p.name: p.read_bytes() for p in finished.iterdir() if p.is_file()}
        limit = {} if mounted else {'preexec_fn': lambda: (signal.signal(signal.SIGXFSZ, signal.SIG_IGN),
                                                             resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000)))}
        r = unilth('run', '--out', str(disk), *SHORT, '--seed', '5', **limit)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr and r.stderr.startswith("unilth: error: cannot write '"), r.stderr
        assert ('No space left on device' if mounted else 'File too large') in r.stderr, r.stderr
        assert {p.name: p.read_bytes() for p in finished.iterdir() if p.is_file()} == before   # the finished run untouched
        (failed,) = [d for d in disk.iterdir() if d.name != ref_folder.name]
        good = [p for p in (failed/'checkpoint.pt', failed/'checkpoint.prev.pt') if p.is_file()]
        assert good and torch.load(good[0], weights_only=False)['format'] == 'unilth_nb.checkpoint'   # the last good checkpoint
        moved = tmp_path/'roomy'; shutil.copytree(failed, moved/failed.name)
    finally:
        if mounted: subprocess.run(['umount', str(disk)])
    r = unilth('run', '--out', str(moved), *SHORT, '--seed', '5')      # with room again: it resumes and ends
    assert r.returncode == 0, r.stderr
    clean = tmp_path/'clean'; assert unilth('run', '--out', str(clean), *SHORT, '--seed', '5').returncode == 0
    assert outcome(moved/failed.name) == outcome(the_folder(clean))

def test_files_follow_the_umask(tmp_path):
    r = unilth('run', '--preset', 'oneshot_magnitude', '--out', str(tmp_path), *TINY, preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr
    folder = the_folder(tmp_path)
    for name in ('config.json', 'result.json', 'checkpoint.pt', 'metrics.csv', 'masks/cycle_1.pt'):
        assert (folder/name).stat().st_mode & 0o777 == 0o644, name

@pytest.mark.parametrize('args, message', [
    (['--preset', 'unilth', '--val_fraction', '0'], "preset 'unilth' stops early on the validation loss, but the validation split is empty"),
    (['--preset', 'unidlth', '--val_fraction', '0'], "the validation split is empty"),
    (['--preset', 'lth', '--sparsity', '0.99999'], "sparsity 0.99999 is too high: it would leave all prunable weights with no weight"),
    (['--preset', 'dlth', '--sparsity', '0.99996'], "sparsity 0.99996 is too high: it would leave layer 'conv2.weight' with no weight"),
    (['--preset', 'unilth', '--train_epochs', '0'], "train_epochs must be >= 1 for warmup 'early_stop'"),
])
def test_inputs_that_used_to_slip_through_are_refused(tmp_path, args, message):
    r = unilth('run', '--out', str(tmp_path), *[a for a in TINY if a not in ('--train_epochs', '2')], *args)
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and message in r.stderr, r.stderr
    assert not any(tmp_path.iterdir())

@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_on_a_cpu_build_is_a_usage_error(tmp_path):
    r = unilth('run', '--out', str(tmp_path), '--device', 'cuda', '--quiet')
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert "device 'cuda' was asked for, but this torch" in r.stderr and 'available: cpu' in r.stderr

def test_evaluating_no_data_is_nan_not_zero():
    from unilth_nb.all import evaluate, get_model, TensorBatches
    empty = TensorBatches(torch.zeros(0, 40), torch.zeros(0, dtype=torch.long), 10)
    res = evaluate(get_model('mlp', (40,), 10), empty)
    assert res['loss'] != res['loss'] and res['acc'] != res['acc']

def test_check_lists_what_a_crashed_sweep_left(reference, tmp_path):
    ref_folder, ref = reference
    shutil.copytree(ref_folder, tmp_path/ref_folder.name)
    shutil.copytree(ref_folder, tmp_path/'unilth_000000000000')                          # another config's files
    LONG = [*SHORT, '--train_epochs', '1000', '--patience', '1000']                     # cannot finish before it is killed or checked
    p = start('run', '--out', str(tmp_path/'k'), *LONG)
    while not list((tmp_path/'k').glob('*/checkpoint.pt')): time.sleep(0.05)
    time.sleep(1.0); p.send_signal(signal.SIGKILL); p.wait()
    bad = tmp_path/'greg_cccccccccccc'; bad.mkdir(); (bad/'checkpoint.pt').write_bytes(b'PK\x03\x04 cut')
    holder = start('run', '--out', str(tmp_path/'busy'), *LONG)
    while not list((tmp_path/'busy').glob('*/.lock.owner')): time.sleep(0.05)
    try:
        r = unilth('check', str(tmp_path))
    finally:
        holder.kill(); holder.wait()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    state = {l.split()[-1] if '(' not in l else l.split('  (')[0].split()[-1]: l.split()[0] for l in lines[:-1]}
    assert state[ref_folder.name] == 'finished' and state['unilth_000000000000'] == 'foreign' and state['greg_cccccccccccc'] == 'corrupt'
    assert any(l.startswith('resumable') and l.split()[1].startswith('k/') for l in lines)
    assert any(l.startswith('in progress') and f'pid {holder.pid}' in l for l in lines)
    assert lines[-1].startswith(f'{len(lines) - 1} run folder(s):')

def test_the_store_keeps_what_the_events_carry_in_the_files_of_the_contract(tmp_path):
    "The pipeline reports `RunEvent`s, the store keeps them: the same file names, and a checkpoint's keys in the same order."
    from unilth_nb.all import RunEvent, RunStore, TicketPipeline, make_config, run_dir, load_checkpoint
    c = make_config('unidlth', model='mlp', sparsity=0.8, train_epochs=3, finetune=1, ramp='1ep', stabilize='1ep',
                    patience=1, cycles=2, device='cpu', log_test=False)
    store = RunStore(run_dir(c, tmp_path))
    told = []
    def report(event: RunEvent):
        told.append(event.name)
        RunStore.report(store, event)
    store.report = report
    pipe = TicketPipeline(c, store, progress=False)
    store.start(pipe)
    store.write_result(pipe.run())
    assert sorted(str(p.relative_to(store.folder)) for p in store.folder.rglob('*') if p.is_file()) == sorted([
        'checkpoint.pt', 'checkpoint.prev.pt', 'config.json', 'masks/cycle_1.pt', 'masks/cycle_2.pt', 'masks/ticket.pt',
        'metrics.csv', 'result.json', 'stage1_rewind.pt'])
    assert list(load_checkpoint(store.checkpoint, c)) == ['format', 'version', 'config', 'controller', 'model', 'optimizer',
                                                          'rng', 'data_epoch', 'n_rows', 'seconds', 'scaler']
    assert told.count('checkpoint') == len(store.read_metrics()) + 1 and told.count('prune') == 2
