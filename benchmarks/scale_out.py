"""Scale-out overheads on this machine, as ratios: the same 16-run sweep on the `local` backend and on `ray` (a local Ray cluster
started by the sweep), and one run on 1 process against `torchrun --nproc_per_node 2` (gloo on the CPU).

    python benchmarks/scale_out.py [--workers 2] [--train_epochs 10] [--json out.json]

Every timing is the wall time of a fresh command (cluster start-up included), into an empty folder."""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

BIN = Path(sys.executable).parent

def timed(cmd, env=None) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'UNILTH_QUIET': '1', **(env or {})})
    if r.returncode: sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--train_epochs', type=int, default=10)
    ap.add_argument('--run_epochs', type=int, default=20, help='train_epochs of the torchrun comparison')
    ap.add_argument('--json', default=None)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    sweep = [str(BIN/'unilth'), 'sweep', '--presets', 'unilth,unidlth,dlth,oneshot_magnitude', '--sparsities', '0.8,0.9', '--seeds', '0-1',
             '--train_epochs', str(a.train_epochs), '--device', 'cpu', '--log_test', 'false', '--quiet', '--workers', str(a.workers)]
    res = {'machine': platform.processor() or platform.machine(), 'cores': os.cpu_count(), 'runs': 16, 'workers': a.workers}
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), None) if os.path.exists('/proc/cpuinfo') else None
    res['machine'] = cpu or res['machine']
    for backend in ('local', 'ray'):
        res[f'sweep_{backend}_s'] = timed(sweep + ['--backend', backend, '--out', str(tmp/backend)])
        print(f"16-run sweep on {backend}: {res[f'sweep_{backend}_s']:.1f} s", flush=True)
    res['ray_over_local'] = res['sweep_ray_s'] / res['sweep_local_s']
    same = all(json.loads((tmp/'local'/d.name/'result.json').read_text())['test_loss'] == json.loads((d/'result.json').read_text())['test_loss']
               for d in (tmp/'ray').iterdir() if (d/'result.json').is_file())
    print(f"ray / local: {res['ray_over_local']:.2f}  (identical test losses: {same})")
    run = ['run', '--preset', 'unilth', '--sparsity', '0.9', '--train_epochs', str(a.run_epochs), '--device', 'cpu', '--quiet', '--json']
    one = tmp/'one'; two = tmp/'two'
    res['run_1proc_s'] = timed([str(BIN/'unilth'), *run, '--out', str(one)], env={'OMP_NUM_THREADS': '1'})
    res['run_torchrun2_s'] = timed([str(BIN/'torchrun'), '--standalone', '--nproc_per_node', '2', '-m', 'unilth_nb', *run, '--out', str(two)],
                                   env={'OMP_NUM_THREADS': '1'})
    r1, r2 = (json.loads(next(d.glob('*/result.json')).read_text()) for d in (one, two))
    res['epoch_1proc_s'] = r1['cost']['total']['seconds'] / r1['cost']['total']['epochs']
    res['epoch_torchrun2_s'] = r2['cost']['total']['seconds'] / r2['cost']['total']['epochs']
    res['torchrun2_over_1proc_wall'] = res['run_torchrun2_s'] / res['run_1proc_s']
    res['torchrun2_over_1proc_epoch'] = res['epoch_torchrun2_s'] / res['epoch_1proc_s']
    res['test_acc_1proc'], res['test_acc_torchrun2'] = r1['test_acc'], r2['test_acc']
    print(f"one unilth run ({r1['cost']['total']['epochs']} epochs): 1 process {res['run_1proc_s']:.1f} s, torchrun 2 processes "
          f"{res['run_torchrun2_s']:.1f} s (wall ratio {res['torchrun2_over_1proc_wall']:.2f}; per epoch {res['epoch_1proc_s']*1e3:.0f} vs "
          f"{res['epoch_torchrun2_s']*1e3:.0f} ms, ratio {res['torchrun2_over_1proc_epoch']:.2f}); test accuracy {r1['test_acc']:.3f} vs {r2['test_acc']:.3f}")
    if a.json: Path(a.json).write_text(json.dumps(res, indent=2) + '\n')
    shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
