"""Masked vs dense training time per epoch (target: ratio <= 1.05).

Prints, for cnn1d on MNIST-1D and resnet20 on CIFAR-shaped random tensors, the median time of one
training epoch with and without a 90%-sparse mask enforced by `MaskEnforcer`, and their ratio.
Dense and masked epochs are interleaved so that drifts in machine load hit both alike.

    python benchmarks/masked_training.py [--device cpu|cuda] [--reps 7]
"""
import argparse, copy, statistics, time
import torch
from unilth_nb.core import seed_everything, get_device
from unilth_nb.data import TensorBatches
from unilth_nb.datasets import get_data
from unilth_nb.models import get_model
from unilth_nb.masks import prune_random
from unilth_nb.training import MaskEnforcer, make_optimizer, train_epoch

def cifar_like(n_batches, batch_size, device):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n_batches * batch_size, 3, 32, 32, generator=g), torch.randint(0, 10, (n_batches * batch_size,), generator=g)
    return TensorBatches(x, y, batch_size, shuffle=True).to(device)

def epoch_times(model_name, batches, input_shape, reps, device, flush=True):
    seed_everything(0)
    dense = get_model(model_name, input_shape, 10).to(device)
    masked = copy.deepcopy(dense)                  # same init; only this copy is pruned
    opts = {'dense': make_optimizer(dense, 'sgd', lr=0.01), 'masked': make_optimizer(masked, 'sgd', lr=0.01)}
    enforcer = MaskEnforcer(masked, prune_random(masked, 0.9, generator=torch.Generator().manual_seed(0)), opts['masked'])
    models = {'dense': dense, 'masked': masked}
    times = {'dense': [], 'masked': []}
    for r in range(reps + 1):                      # the first round warms up
        for kind in (('dense', 'masked') if r % 2 else ('masked', 'dense')):   # alternate who goes first
            if device.type == 'cuda': torch.cuda.synchronize()
            t = time.perf_counter()
            train_epoch(models[kind], batches, opts[kind], enforcer=enforcer if kind == 'masked' else None, device=device, flush_denormal=flush)
            if device.type == 'cuda': torch.cuda.synchronize()
            if r: times[kind].append(time.perf_counter() - t)
    out = {k: statistics.median(v) for k, v in times.items()}
    n = 200                                        # the enforcement alone, per iteration
    t = time.perf_counter()
    for _ in range(n): enforcer.apply_grads(); enforcer.apply_weights()
    if device.type == 'cuda': torch.cuda.synchronize()
    out['enforce'] = (time.perf_counter() - t) / n
    out['iters'] = len(batches)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--no-flush', action='store_true', help='keep subnormal floats (slow on x86 CPUs) to show their cost')
    p.add_argument('--device', default='auto'); p.add_argument('--reps', type=int, default=11)
    a = p.parse_args()
    device = get_device(a.device)
    data = get_data('mnist1d', device=device)
    cases = [('cnn1d', 'MNIST-1D (36 batches of 100)', data.train, data.input_shape),
             ('resnet20', 'CIFAR-shaped random tensors (8 batches of 128)', cifar_like(8, 128, device), (3, 32, 32))]
    print(f"device: {device}, threads: {torch.get_num_threads()}, reps: {a.reps}, subnormals flushed: {not a.no_flush}")
    for name, what, batches, shape in cases:
        t = epoch_times(name, batches, shape, a.reps, device, flush=not a.no_flush)
        print(f"{name:9s} on {what}: dense {t['dense']*1e3:8.1f} ms/epoch, masked {t['masked']*1e3:8.1f} ms/epoch, "
              f"ratio masked/dense = {t['masked']/t['dense']:.3f}; the mask enforcement alone: "
              f"{t['enforce']*1e6:.1f} us/iteration = {t['enforce']*t['iters']/t['dense']:.4f} of a dense epoch")

if __name__ == '__main__':
    main()
