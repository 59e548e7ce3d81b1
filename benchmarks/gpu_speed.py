"""Epoch seconds of the GPU path on CIFAR-shaped data: a bare hand-written loop against the pipeline (dense, masked, growing L2).

Synthetic CIFAR-shaped data (random uint8 images, 50,000 x 3x32x32, no download) kept on the device.
For each model and batch size it prints the seconds of one training epoch (median of the timed epochs,
after a warm-up epoch) of:

  bare       a hand-written PyTorch loop with the same tricks: uint8 data on the device, crop and flip
             there, autocast, channels_last, foreach SGD (the reference);
  dense      the pipeline (`TicketPipeline.train_epoch`, the controller driving the loop), no mask;
  masked     the same at 90% sparsity (oneshot_magnitude after its prune: masks enforced every step);
  growing L2 the same during DLTH's growing-L2 phase (the force added every step);
  dataloader (batch 128) the usual research loop: a DataLoader with CPU augmentation in worker
             processes, fp32, no channels_last;

and the ratios masked/dense and dense/bare. With --compile it adds the compiled pipeline (dense and
masked) and the compiled bare loop (--compile_mode, default reduce-overhead: CUDA graphs), and counts the graphs and graph breaks torch.compile made before
and after the prune (no recompile after a prune). On CUDA it prints the peak GPU memory of each row and
counts host-device synchronizations in one masked epoch (torch.cuda.set_sync_debug_mode('warn')).

    python benchmarks/gpu_speed.py                       # CUDA: resnet20, resnet56, vgg16 at batch 128 and 512
    python benchmarks/gpu_speed.py --compile --models resnet20 --batch 128
    python benchmarks/gpu_speed.py --device cpu --quick  # a small version on the CPU (under a minute)
"""
import argparse, json, os, statistics, sys, time, warnings
import torch, torch.nn.functional as F
from unilth_nb.core import seed_everything, get_device
from unilth_nb.datasets import register_dataset, get_data
from unilth_nb.models import get_model
from unilth_nb.training import make_optimizer, resolve_execution, autocast
from unilth_nb.config import make_config
from unilth_nb.pipeline import TicketPipeline

def synthetic_cifar(seed:int=0, n:int=50000, n_test:int=1000) -> dict:
    "Random uint8 CIFAR-shaped images with random labels (timing only: nothing to learn)."
    g = torch.Generator().manual_seed(1234)
    x, xt = (torch.randint(0, 256, (k, 3, 32, 32), dtype=torch.uint8, generator=g) for k in (n, n_test))
    return {'train': (x, torch.randint(0, 10, (n,), generator=g)), 'test': (xt, torch.randint(0, 10, (n_test,), generator=g)),
            'images': True, 'augment': True, 'num_classes': 10}
register_dataset('synthetic_cifar', synthetic_cifar, defaults={'batch_size': 128}, replace=True)

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)

def timed(fn, device) -> float:
    sync(device); t = time.perf_counter(); fn(); sync(device)
    return time.perf_counter() - t

def peak_reset(device):
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
def peak_gib(device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == 'cuda' else float('nan')

# -- the reference: a bare loop written by hand, with the same tricks ------------------------------------
def bare_epoch(model, opt, x, y, mean, std, bs, precision, channels_last, gen, cudagraphs=False):
    "One epoch of a hand-written loop: shuffle, crop (pad 4) and flip on the device, autocast, SGD."
    n, dev = len(x), x.device
    perm = torch.randperm(n, device=dev, generator=gen)
    off = torch.randint(0, 9, (n, 2), device=dev, generator=gen); flip = torch.rand(n, device=dev, generator=gen) < 0.5
    r, c = torch.arange(32, device=dev), torch.arange(32, device=dev)
    model.train()
    for i in range(0, n, bs):
        j = perm[i:i + bs]
        img = F.pad((x[j].float() / 255 - mean) / std, (4, 4, 4, 4))                    # (B, 3, 40, 40)
        cols = off[j, 1:] + c; cols = torch.where(flip[j, None], cols.flip(1), cols)
        idx = ((off[j, :1] + r)[:, :, None] * 40 + cols[:, None, :]).flatten(1)       # (B, 1024) into the padded 40x40
        xb = img.flatten(2).gather(2, idx[:, None, :].expand(-1, 3, -1)).view(-1, 3, 32, 32)
        if channels_last: xb = xb.contiguous(memory_format=torch.channels_last)
        if cudagraphs: torch.compiler.cudagraph_mark_step_begin()
        with autocast(dev, precision): loss = F.cross_entropy(model(xb), y[j])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

def bare_row(name, data, bs, ex, device, epochs, compile_='off'):
    seed_everything(0)
    model = get_model(name, (3, 32, 32), 10).to(device)
    if ex['channels_last']: model = model.to(memory_format=torch.channels_last)
    net = model if compile_ == 'off' else torch.compile(model, mode=None if compile_ == 'on' else compile_)
    cg = compile_ == 'reduce-overhead' and device.type == 'cuda'
    opt = make_optimizer(model, 'sgd', lr=0.05)
    tb = data.train
    x, y, mean, std = tb.x, tb.y, tb.mean.view(1, -1, 1, 1), tb.std.view(1, -1, 1, 1)
    gen = torch.Generator(device=device).manual_seed(0)
    peak_reset(device)
    ts = [timed(lambda: bare_epoch(net, opt, x, y, mean, std, bs, ex['precision'], ex['channels_last'], gen, cg), device) for _ in range(epochs + 1)]
    return statistics.median(ts[1:]), peak_gib(device)

# -- the pipeline ------------------------------------------------------------------------------------------
def pipeline(preset, name, data, bs, device, compile_='off', **kw):
    c = make_config(preset, 'synthetic_cifar', model=name, batch_size=bs, sparsity=0.9, val_fraction=0.0, log_test=False,
                    device=str(device), compile=compile_, lr=0.05, reg_lr=0.05, finetune_lr=0.05, **kw)
    return TicketPipeline(c, data=data)

def epoch(p) -> float:
    "One epoch of the pipeline's loop: train (timed), then end the epoch in the controller (prunes happen there)."
    s = timed(p.train_epoch, p.device)
    p.ctl.end_epoch(1.0)
    return s

def graphs():
    from torch._dynamo.utils import counters
    return counters['stats']['unique_graphs'], sum(counters['graph_break'].values())

def pipeline_rows(name, data, bs, device, epochs, compile_='off') -> dict:
    "dense and masked (oneshot_magnitude before and after its prune), and growing L2 (dlth)."
    out = {}
    p = pipeline('oneshot_magnitude', name, data, bs, device, compile_, train_epochs=epochs + 1, finetune=epochs + 2)
    peak_reset(device)
    dense = [epoch(p) for _ in range(epochs + 1)]
    g_before = graphs() if compile_ != 'off' else None
    assert abs(p.ctl.mask.sparsity() - 0.9) < 1e-3, p.ctl.mask.sparsity()   # pruned at the end of the warm-up
    masked = [epoch(p) for _ in range(epochs + 1)]
    out['dense'] = (statistics.median(dense[1:]), None)
    out['masked'] = (statistics.median(masked[1:]), peak_gib(device))
    if compile_ != 'off':
        g_after = graphs()
        out['graphs'] = {'before_prune': g_before[0], 'after_prune': g_after[0], 'graph_breaks': g_after[1]}
        params = dict(p.model.named_parameters())
        out['pruned_stay_zero'] = all(bool((params[n][~m.to(params[n].device)] == 0).all()) for n, m in p.ctl.mask.items())
        return out
    out['sync'] = sync_count(p) if device.type == 'cuda' else None
    q = pipeline('dlth', name, data, bs, device, compile_, ramp='1000ep', stabilize='0ep', interval=1)
    peak_reset(device)
    reg = [epoch(q) for _ in range(epochs + 1)]
    assert q.ctl.phase == 'regularize' and q.ctl.lam > 0
    out['growing L2'] = (statistics.median(reg[1:]), peak_gib(device))
    return out

def sync_count(p) -> dict:
    "Host-device synchronizations in one masked epoch, counted by torch.cuda.set_sync_debug_mode('warn')."
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try: p.train_epoch(); torch.cuda.synchronize()
        finally: torch.cuda.set_sync_debug_mode('default')
    msgs = [str(x.message).splitlines()[0][:80] for x in w if 'synchroniz' in str(x.message).lower()]
    return {'steps': len(p.data.train), 'syncs': len(msgs), 'kinds': sorted(set(msgs))}

def dataloader_row(name, bs, device, epochs, n, workers) -> float:
    "The usual research loop: DataLoader workers crop and flip on the CPU, fp32, plain layout."
    data = get_data('synthetic_cifar', batch_size=bs, val_fraction=0.0, device=device, on_device=False, num_workers=workers, n=n)
    seed_everything(0)
    model = get_model(name, (3, 32, 32), 10).to(device); opt = make_optimizer(model, 'sgd', lr=0.05)
    def run():
        model.train()
        for xb, yb in data.train:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            loss = F.cross_entropy(model(xb), yb); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    ts = [timed(run, device) for _ in range(epochs + 1)]
    return statistics.median(ts[1:])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='auto'); ap.add_argument('--quick', action='store_true', help='1,024 images, resnet20, batch 128, 1 timed epoch')
    ap.add_argument('--models', default='resnet20,resnet56,vgg16'); ap.add_argument('--batch', default='128,512')
    ap.add_argument('--epochs', type=int, default=2, help='timed epochs per row (after one warm-up epoch)')
    ap.add_argument('--images', type=int, default=50000); ap.add_argument('--compile', action='store_true', help='add the compiled rows')
    ap.add_argument('--compile_mode', default='reduce-overhead', help="torch.compile mode of the compiled rows: on (the default mode), reduce-overhead (CUDA graphs), max-autotune")
    ap.add_argument('--compile_only', action='store_true', help='only the compiled rows'); ap.add_argument('--no_dataloader', action='store_true')
    ap.add_argument('--workers', type=int, default=min(8, os.cpu_count() or 1), help='DataLoader workers of the reference row')
    ap.add_argument('--json', default=None, help='also write the rows to this file')
    a = ap.parse_args(argv)
    device = get_device(a.device)
    if a.quick: a.images, a.models, a.batch, a.epochs = min(a.images, 1024), 'resnet20', '128', 1
    data_kw = dict(n=a.images, n_test=256)
    models, batches = a.models.split(','), [int(b) for b in a.batch.split(',')]
    gpu = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
    print(f"device: {device} ({gpu}), torch {torch.__version__}, {a.images} CIFAR-shaped images, "
          f"{a.epochs} timed epoch(s) after 1 warm-up", flush=True)
    rows = []
    for name in models:
        for bs in batches:
            data = get_data('synthetic_cifar', batch_size=bs, val_fraction=0.0, device=device, on_device=True, **data_kw)
            ex = resolve_execution(device, 'auto', 'auto', get_model(name, (3, 32, 32), 10))
            tag = f"{name} b{bs} {ex['precision']}{' channels_last' if ex['channels_last'] else ''}"
            row = {'model': name, 'batch': bs, **ex, 'images': a.images}
            if not a.compile_only:
                row['bare'], row['bare_peak_gib'] = bare_row(name, data, bs, ex, device, a.epochs)
                pr = pipeline_rows(name, data, bs, device, a.epochs)
                for k in ('dense', 'masked', 'growing L2'): row[k], row[k + '_peak_gib'] = pr[k]
                row['sync'] = pr['sync']
                row['masked/dense'], row['dense/bare'] = row['masked'] / row['dense'], row['dense'] / row['bare']
                if bs == 128 and name == models[0] and not a.no_dataloader:
                    row['dataloader'] = dataloader_row(name, bs, device, 1, a.images, a.workers)
                    row['dataloader/dense'] = row['dataloader'] / row['dense']
            if a.compile or a.compile_only:
                row['compile_mode'] = a.compile_mode
                row['bare compiled'], _ = bare_row(name, data, bs, ex, device, a.epochs, compile_=a.compile_mode)
                pc = pipeline_rows(name, data, bs, device, a.epochs, compile_=a.compile_mode)
                row['dense compiled'], row['masked compiled'] = pc['dense'][0], pc['masked'][0]
                row['graphs'], row['pruned_stay_zero'] = pc['graphs'], pc['pruned_stay_zero']
                row['masked/dense compiled'] = row['masked compiled'] / row['dense compiled']
                row['dense/bare compiled'] = row['dense compiled'] / row['bare compiled']
            rows.append(row)
            print(f"{tag}: " + ', '.join(f"{k} {v:.3f}" + ('' if '/' in k or 'gib' in k else ' s') for k, v in row.items()
                                           if isinstance(v, float) and v == v), flush=True)
            for k in ('sync', 'graphs', 'pruned_stay_zero'):
                if row.get(k) is not None: print(f"  {k}: {row[k]}", flush=True)
            if a.json:                                    # after every row, so a run cut short keeps what it measured
                with open(a.json, 'w') as f: json.dump({'device': str(device), 'gpu': gpu, 'torch': torch.__version__, 'rows': rows}, f, indent=1)
    print('\nmodel      batch  bare s  dense s  masked s  L2 s   masked/dense  dense/bare  dataloader s')
    for r in rows:
        if 'bare' not in r: continue
        dl = f"{r['dataloader']:.3f}" if 'dataloader' in r else '-'
        print(f"{r['model']:<10} {r['batch']:>5}  {r['bare']:.3f}   {r['dense']:.3f}    {r['masked']:.3f}     {r['growing L2']:.3f}  "
              f"{r['masked/dense']:.3f}         {r['dense/bare']:.3f}       {dl}")
    return rows

if __name__ == '__main__': main()
