"""TensorBoard event files of runs: one step per metrics.csv row, also after a crash and a resume."""
import csv, os, subprocess, sys
from pathlib import Path
import pytest
from unilth_nb.all import *

pytest.importorskip('tensorboard')
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

CFG = dict(model='mlp', train_epochs=3, finetune=2, ramp='1ep', stabilize='0ep', cycles=2, device='cpu')

def steps(folder, tag='accuracy/val') -> list:
    acc = EventAccumulator(str(folder)); acc.Reload()
    return [e.step for e in acc.Scalars(tag)]

def n_rows(folder) -> int:
    with open(Path(folder)/'metrics.csv') as f: return sum(1 for _ in csv.DictReader(f))

def test_events_match_metrics(tmp_path):
    c = make_config('unilth', **CFG)
    run(c, tmp_path, tensorboard=True)
    d = run_dir(c, tmp_path); n = n_rows(d)
    assert list(d.glob('events.out.tfevents.*'))
    for tag in ('accuracy/val', 'loss/train', 'sparsity', 'learning_rate', 'regularization/lambda', 'phase'):
        assert steps(d, tag) == list(range(1, n + 1)), tag
    acc = EventAccumulator(str(d), size_guidance={'tensors': 0}); acc.Reload()
    texts = [t.tensor_proto.string_val[0].decode() for t in acc.Tensors('events/text_summary')]
    assert sum('prune' in t for t in texts) == 2 and any('phase finetune' in t for t in texts)
    c2 = make_config('lth', **dict(CFG, finetune=0)); run(c2, tmp_path)          # off by default: no event files
    assert not list(run_dir(c2, tmp_path).glob('events.out.tfevents.*'))

def test_events_after_a_crash_and_resume(tmp_path):
    "A crash after an epoch's events were written but before its checkpoint: the resumed run redoes that epoch, with no step twice."
    c = make_config('unilth', **CFG)
    d = run_dir(c, tmp_path)
    store = RunStore(d); pipe = TicketPipeline(c, store, tensorboard=True)
    store.start(pipe)                          # a fresh start: config.json written
    real = store.report
    def crashing_report(event):
        if event.name == 'checkpoint' and len(event.rows) == 5:
            pipe._tb.flush()                   # the events of epoch 5 reached the disk; its checkpoint never will
            raise KeyboardInterrupt
        real(event)
    store.report = crashing_report
    with pytest.raises(KeyboardInterrupt): pipe.run()
    assert n_rows(d) == 4 and 5 in steps(d)
    r = run(c, tmp_path, tensorboard=True)                                            # resumes from epoch 4
    n = n_rows(d)
    assert steps(d) == list(range(1, n + 1)) and n == r.total['epochs']

def test_cli_flag_and_environment(tmp_path):
    env = dict(os.environ, UNILTH_QUIET='1')
    args = [sys.executable, '-m', 'unilth_nb', 'run', '--preset', 'dense', '--model', 'mlp', '--train_epochs', '2', '--out', str(tmp_path)]
    p = subprocess.run(args + ['--tensorboard'], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    d = next(tmp_path.glob('dense_*'))
    assert steps(d) == [1, 2]
    p = subprocess.run(args + ['--seed', '1'], capture_output=True, text=True, env=dict(env, UNILTH_TENSORBOARD='1'))
    assert p.returncode == 0, p.stderr
    assert len([f for f in tmp_path.glob('dense_*/events.out.tfevents.*')]) == 2
