"""The controller's per-step overhead in a plain PyTorch loop (target: ratio <= 1.03 on cnn1d).

Two hand-written loops over MNIST-1D with cnn1d, the same work per step:
- the bare loop: forward, backward, optimizer step, and what the phase needs done by hand (nothing in the dense
  warm-up; the `GrowingL2` force on the 90% to be removed in DLTH's regularization phase, plus `MaskEnforcer` if
  anything is pruned already);
- the controlled loop: the same, with `ctl.before_step()` / `ctl.after_step()` doing that work.
Epochs of the two are interleaved so that drifts in machine load hit both alike; prints the median seconds per
epoch and the ratio controlled/bare, per phase.

    python benchmarks/controller_overhead.py [--reps 9]
"""
import argparse, copy, statistics, time
import torch, torch.nn.functional as F
from unilth_nb.core import seed_everything
from unilth_nb.datasets import get_data
from unilth_nb.models import get_model
from unilth_nb.masks import Mask, prune_magnitude
from unilth_nb.training import MaskEnforcer
from unilth_nb.regularization import GrowingL2, Growth
from unilth_nb.controller import TicketController

def epoch(model, opt, batches, before=None, after=None):
    model.train()
    for x, y in batches:
        loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward()
        if before: before()
        opt.step()
        if after: after()

def main(reps:int=9):
    torch.set_flush_denormal(True)
    seed_everything(0)
    data = get_data('mnist1d', seed=0)
    spe = len(data.train)
    base = get_model('cnn1d', data.input_shape, data.num_classes)
    long = dict(train_epochs=10_000, ramp='10000ep', stabilize='0ep')           # phases that outlast the benchmark
    print(f"cnn1d on MNIST-1D, {spe} steps per epoch, median of {reps} interleaved epochs each")
    for phase in ('warmup', 'regularize'):
        bare, ctl_model = copy.deepcopy(base), copy.deepcopy(base)
        opt_b, opt_c = (torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (bare, ctl_model))
        if phase == 'warmup':
            ctl = TicketController(ctl_model, opt_c, 'lth', 0.9, steps_per_epoch=spe, lr_control=False, **long)
            hooks_b = (None, None)
        else:
            ctl = TicketController(ctl_model, opt_c, 'dlth', 0.9, steps_per_epoch=spe, lr_control=False, **long)
            ctl.start(); assert ctl.phase == 'regularize'
            mask = ctl.mask; removing = ctl.state.removing
            bare.load_state_dict(ctl_model.state_dict())
            reg = GrowingL2(bare, removing, ctl.growth())
            if mask.num_kept() < mask.num_total():
                enf = MaskEnforcer(bare, mask, opt_b)
                hooks_b = (lambda: (enf.apply_grads(), reg(bare)), enf.apply_weights)
            else: hooks_b = (lambda: reg(bare), None)                          # DLTH's first phase: nothing pruned yet
        ctl.start()
        times = {'bare': [], 'controlled': []}
        for r in range(reps + 1):
            for kind in (('bare', 'controlled') if r % 2 else ('controlled', 'bare')):
                t = time.perf_counter()
                if kind == 'bare': epoch(bare, opt_b, data.train, *hooks_b)
                else: epoch(ctl_model, opt_c, data.train, ctl.before_step, ctl.after_step)
                if r: times[kind].append(time.perf_counter() - t)
        b, c = statistics.median(times['bare']), statistics.median(times['controlled'])
        print(f"{phase:10s}  bare {1000*b:7.1f} ms/epoch   controlled {1000*c:7.1f} ms/epoch   ratio controlled/bare {c/b:.3f}")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); p.add_argument('--reps', type=int, default=9)
    main(p.parse_args().reps)
