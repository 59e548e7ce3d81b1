"""Where sparsity pays at inference on this CPU: one forward pass of a ticket as the dense network, as the dense network
with a mask multiplied in on every call (torch.nn.utils.prune's reparametrisation), and as `sparse_model` (pruned
linear layers as CSR products, pruned convolutions as im2col + CSR products: the best PyTorch offers for sparse
convolutions on a CPU), at sparsities 0.5-0.99 (magnitude, per layer, of each model's default prunable set: every
conv/linear weight but the first and the last), batch 1 and 256, for mlp, cnn1d and resnet20. Prints seconds and
ratios to dense (below 1: faster than dense) and writes them with the machine's name; a ratio within the spread of the
dense network's own timings (the same computation at every sparsity) is reported as the same. A timing test it is not.

    python benchmarks/inference.py [--out nbs/results/inference] [--min-time 0.5] [--threads N]
"""
import argparse, json, os, platform, time
from pathlib import Path
import torch, torch.nn.utils.prune as tprune
from torch.utils.benchmark import Timer
from unilth_nb.models import get_model
from unilth_nb.masks import prune_magnitude
from unilth_nb.export import sparse_model

MODELS = {'mlp': (40,), 'cnn1d': (1, 40), 'resnet20': (3, 32, 32)}
SPARSITIES, BATCHES, FORMS = (0.5, 0.9, 0.95, 0.99), (1, 256), ('dense', 'masked', 'sparse')

def machine() -> str:
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor()) if os.path.exists('/proc/cpuinfo') else platform.processor()
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"

def forms(name, shape, sparsity):
    "The ticket of `name` at `sparsity` three ways: dense weights with zeros, a mask multiplied in per call, CSR layers."
    torch.manual_seed(0)
    net = get_model(name, shape, 10).eval()
    mask = prune_magnitude(net, sparsity, scope='layer')
    with torch.no_grad(): mask.apply(net)
    masked = get_model(name, shape, 10).eval(); masked.load_state_dict(net.state_dict())
    mods = dict(masked.named_modules())
    for n, m in mask.items(): tprune.custom_from_mask(mods[n.rpartition('.')[0]], 'weight', m)
    return {'dense': net, 'masked': masked, 'sparse': sparse_model(net)}

def seconds(model, x, min_time) -> float:
    "Median seconds of one forward pass (torch.utils.benchmark, no autograd)."
    with torch.no_grad(): model(x)                                              # warm-up
    return Timer('with torch.no_grad(): model(x)', globals={'model': model, 'x': x, 'torch': torch}).blocked_autorange(min_run_time=min_time).median

def add_noise(rows):
    "Each row's `noise`: the largest over the smallest timing of the dense network of its model and batch, which computes the same at every sparsity."
    for r in rows:
        d = [q['dense_s'] for q in rows if q['model'] == r['model'] and q['batch'] == r['batch']]
        r['noise'] = max(d) / min(d)

def said(r, key) -> str:
    "A ratio to dense, or 'same' where it lies within the row's noise band."
    return f"{r[key]:.2f}" if (r[key] > r['noise'] or r[key] < 1 / r['noise']) else f"same (noise {r['noise']:.2f}x)"

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='nbs/results/inference'); ap.add_argument('--min-time', type=float, default=0.5); ap.add_argument('--threads', type=int, default=None)
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    rows, t0 = [], time.time()
    for name, shape in MODELS.items():
        for sp in SPARSITIES:
            f = forms(name, shape, sp)
            for b in BATCHES:
                x = torch.randn(b, *shape)
                t = {k: seconds(f[k], x, a.min_time) for k in FORMS}
                rows.append({'model': name, 'sparsity': sp, 'batch': b, **{f'{k}_s': v for k, v in t.items()},
                             'masked_ratio': t['masked'] / t['dense'], 'sparse_ratio': t['sparse'] / t['dense']})
                r = rows[-1]
                print(f"{name:9s} sparsity {sp:<5g} batch {b:<4d} dense {1e3 * t['dense']:8.3f} ms   masked {r['masked_ratio']:5.2f}x   sparse {r['sparse_ratio']:6.2f}x", flush=True)
    add_noise(rows)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    res = {'machine': machine(), 'date': time.strftime('%Y-%m-%d'), 'min_run_time_s': a.min_time, 'seconds': time.time() - t0, 'rows': rows}
    (out/'results.json').write_text(json.dumps(res, indent=1))
    lines = [f"Inference on {res['machine']} ({res['date']}): one forward pass, median of torch.utils.benchmark; time relative to the dense network "
             "(below 1: faster).", '', '| model | sparsity | batch | dense ms | masked (x dense) | sparse (x dense) |', '| --- | --- | --- | --- | --- | --- |']
    lines[0] += (" A ratio within the noise of its model and batch (the spread of the dense network's timings over the sparsities: the same "
                 "computation each time) is written 'same'.")
    lines += [f"| {r['model']} | {r['sparsity']:g} | {r['batch']} | {1e3 * r['dense_s']:.3f} | {said(r, 'masked_ratio')} | {said(r, 'sparse_ratio')} |" for r in rows]
    (out/'inference.md').write_text('\n'.join(lines) + '\n')
    print(f"written {out/'results.json'} and {out/'inference.md'} ({res['seconds']:.0f} s)")

if __name__ == '__main__': main()
