"""One run on two processes with torchrun (gloo, CPU): target sparsity, identical masks and weights on both ranks, the 1-process
run's first epoch, resume after an interruption, rank 0 alone writing the run folder."""
import csv, json, os, subprocess, sys
from pathlib import Path
import pytest, torch
from unilth_nb.config import make_config
from unilth_nb.store import run_dir

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CFG = dict(preset='unidlth', sparsity=0.9, train_epochs=6, cycles=2, ramp='1ep', stabilize='1ep', finetune=2, patience=2,
           batch_size=50, device='cpu', log_test=False)

def torchrun(*args, timeout=300):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'UNILTH_QUIET': '1'}
    return subprocess.run([str(BIN/'torchrun'), '--standalone', '--nproc_per_node', '2', *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)

def cli_args(cfg:dict) -> list:
    return [a for k, v in cfg.items() for a in (f'--{k}', str(v))]

@pytest.fixture(scope='module')
def ddp(tmp_path_factory):
    "The config run on two processes through `run`, each rank's mask and weights digest kept."
    out = tmp_path_factory.mktemp('ddp')
    r = torchrun(ROOT/'tests'/'ddp_ranks.py', json.dumps(CFG), out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return out

def test_two_ranks_reach_the_sparsity_with_identical_masks_and_weights(ddp):
    r0, r1 = (torch.load(ddp/f'rank{r}.pt') for r in (0, 1))
    assert r0['world_size'] == r1['world_size'] == 2
    assert r0['mask'].keys() == r1['mask'].keys() and all(torch.equal(r0['mask'][k], r1['mask'][k]) for k in r0['mask'])
    assert r0['digest'] == r1['digest']
    res = json.loads((run_dir(make_config(**CFG), ddp)/'result.json').read_text())
    assert res['execution']['world_size'] == 2 and abs(res['sparsity']['prunable'] - 0.9) <= 1e-3
    kept = sum(int(m.sum()) for m in r0['mask'].values()); total = sum(m.numel() for m in r0['mask'].values())
    assert abs(1 - kept / total - 0.9) <= 1e-3

def test_the_first_epoch_is_the_one_process_run(ddp, tmp_path):
    """Two ranks share each global batch, so they take the one-process gradient: the first epoch's losses agree to float precision.
    (Later the two trajectories part, as any two orders of float sums do on this chaotic little config: their final accuracies
    differed by 5 points on an AMD EPYC. They are compared here only as trained networks, far above chance.)"""
    r = subprocess.run([str(BIN/'unilth'), 'run', *cli_args(CFG), '--out', str(tmp_path), '--json', '--quiet'], cwd=ROOT,
                       capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr
    one = json.loads(r.stdout)
    folder = run_dir(make_config(**CFG), ddp)
    two = json.loads((folder/'result.json').read_text())
    assert one['hash'] == two['hash'] and one['execution']['world_size'] == 1     # the world size is not in the hash
    first = [next(csv.DictReader(open(f/'metrics.csv'))) for f in (run_dir(make_config(**CFG), tmp_path), folder)]
    for k in ('train_loss', 'val_loss'): assert abs(float(first[0][k]) - float(first[1][k])) <= 1e-5, (k, first)
    assert min(one['test_acc'], two['test_acc']) > 0.5, (one['test_acc'], two['test_acc'])   # chance is 0.1

def test_an_interrupted_run_resumes_on_both_ranks_to_the_same_result(ddp, tmp_path):
    r = torchrun(ROOT/'tests'/'ddp_ranks.py', json.dumps(CFG), tmp_path, 4)
    assert r.returncode == 0, r.stderr[-3000:]
    folder = run_dir(make_config(**CFG), tmp_path)
    assert (folder/'checkpoint.pt').is_file() and not (folder/'result.json').exists()
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [folder.name]           # rank 0 alone wrote: one folder
    r = torchrun('-m', 'unilth_nb', 'run', *cli_args(CFG), '--out', tmp_path, '--quiet')
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('test accuracy') == 1, r.stdout                                # rank 0 alone reports
    resumed = json.loads((folder/'result.json').read_text())
    straight = json.loads((run_dir(make_config(**CFG), ddp)/'result.json').read_text())
    assert (resumed['test_acc'], resumed['test_loss']) == (straight['test_acc'], straight['test_loss'])
    assert len((folder/'metrics.csv').read_text().splitlines()) == resumed['cost']['total']['epochs'] + 1

def test_a_sweep_under_torchrun_is_refused_with_one_line(tmp_path):
    r = torchrun('-m', 'unilth_nb', 'sweep', '--presets', 'dense', '--out', tmp_path, '--quiet')
    assert r.returncode != 0
    assert "use 'unilth run' under torchrun" in r.stderr
    assert not any(tmp_path.iterdir())
