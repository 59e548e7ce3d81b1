"""The cost of the field's baselines on the controller (cnn1d on MNIST-1D): a training epoch under GMP, SET and RigL outside
their update steps against a dense epoch of the same loop (target: ratio <= 1.05), one mask update in milliseconds, and the
scoring time of SNIP, GraSP and SynFlow's 100 rounds.

Every loop is the same hand-written loop around a `TicketController` (forward, backward, `before_step`, optimizer step,
`after_step`); epochs of the presets are interleaved so that drifts in machine load hit all alike; medians are printed.

    python benchmarks/sparse_training.py [--reps 7]
"""
import argparse, copy, statistics, time
import torch, torch.nn.functional as F
from unilth_nb.core import seed_everything
from unilth_nb.datasets import get_data
from unilth_nb.models import get_model
from unilth_nb.config import make_config
from unilth_nb.controller import TicketController
from unilth_nb.sparse_training import update_steps
from unilth_nb.scores import select_by_score

def epoch(model, opt, batches, ctl):
    "One epoch of the hand-written loop."
    model.train()
    for x, y in batches:
        loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward()
        ctl.before_step(); opt.step(); ctl.after_step()

def controlled(base, preset, spe, **kw):
    "A copy of `base`, its SGD optimizer and a started controller of `preset` whose warm-up outlasts the benchmark."
    model = copy.deepcopy(base); opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    ctl = TicketController(model, opt, steps_per_epoch=spe, lr_control=False, config=make_config(preset, sparsity=0.9, train_epochs=10_000, **kw))
    ctl.start(); return model, opt, ctl

def epochs(base, data, reps):
    "Median seconds per epoch: dense, and GMP, SET, RigL between their updates (the first update comes after 5,000 epochs)."
    spe, far = len(data.train), dict(update_every='5000ep', update_start=0.0)
    runs = {'dense': controlled(base, 'dense', spe), **{p: controlled(base, p, spe, **far) for p in ('gmp', 'set', 'rigl')}}
    times = {k: [] for k in runs}
    for r in range(reps + 1):
        for k in (list(runs) if r % 2 else list(runs)[::-1]):
            model, opt, ctl = runs[k]
            t = time.perf_counter(); epoch(model, opt, data.train, ctl)
            if r: times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}, {k: runs[k][2].mask.sparsity() for k in runs}

def update_ms(base, data, preset, reps):
    "Median milliseconds of one mask update of `preset` at its first update step (dense gradients of one batch present)."
    model, opt, ctl = controlled(base, preset, len(data.train), update_every='1ep', update_start=0.0, update_end=0.5)
    x, y = next(iter(data.train)); out = []
    for _ in range(reps):
        saved = ctl.mask
        F.cross_entropy(model(x), y).backward()
        ctl.state.step_in_phase = update_steps(ctl.cfg, len(data.train))[0]
        t = time.perf_counter(); ctl.updater.before_step(ctl); out.append(time.perf_counter() - t)
        ctl.update_mask(saved); model.zero_grad()
    return 1000 * statistics.median(out)

def scoring_s(base, data, select):
    "Seconds to select a 90%-sparse mask by `select` at init (SynFlow: its 100 rounds)."
    model = copy.deepcopy(base); opt = torch.optim.SGD(model.parameters(), lr=0.05)
    ctl = TicketController(model, opt, steps_per_epoch=len(data.train), config=make_config(select, sparsity=0.9),
                           score_data=data.train, input_shape=data.input_shape)
    t = time.perf_counter(); m = select_by_score(ctl, ctl.base_mask(), 0.1); s = time.perf_counter() - t
    assert abs(m.sparsity() - 0.9) < 1e-3
    return s

def main(reps:int=7):
    torch.set_flush_denormal(True); seed_everything(0)
    data = get_data('mnist1d', seed=0)
    base = get_model('cnn1d', data.input_shape, data.num_classes)
    print(f"cnn1d on MNIST-1D, {len(data.train)} steps per epoch, {torch.get_num_threads()} threads; median of {reps} interleaved epochs each")
    ep, sp = epochs(base, data, reps)
    for k, v in ep.items():
        print(f"{k:6s} sparsity {sp[k]:.2f}  {1000 * v:7.1f} ms/epoch   ratio to dense {v / ep['dense']:.3f}")
    for p in ('gmp', 'set', 'rigl'): print(f"{p:6s} one mask update: {update_ms(base, data, p, reps):.2f} ms (one epoch: {1000 * ep['dense']:.0f} ms)")
    for s in ("snip", "grasp", "synflow"): print(f"{s:7s} scoring to 90% sparsity at init: {1000 * scoring_s(base, data, s):.1f} ms")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); p.add_argument('--reps', type=int, default=7)
    main(p.parse_args().reps)
