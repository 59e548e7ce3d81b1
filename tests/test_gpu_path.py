"""The GPU path, tested on the CPU (and on CUDA where there is one): compiled models through a prune,
mixed precision, device-resident images, and the speed benchmark's quick mode."""
import json, math, shutil, subprocess, sys
from pathlib import Path
import pytest, torch
from torch._dynamo.utils import counters
from unilth_nb.all import *
from unilth_nb.core import ORDER_STREAM

ROOT = Path(__file__).resolve().parents[1]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')

def _pruned_are_zero(pipe) -> bool:
    params = dict(pipe.model.named_parameters())
    return all(bool((params[n][~m.to(params[n].device)] == 0).all()) for n, m in pipe.ctl.mask.items())

@pytest.mark.skipif(not (shutil.which('g++') or shutil.which('c++')), reason='torch.compile (inductor) on the CPU needs a C++ compiler')
@pytest.mark.slow                     # torch.compile's first compile: make test-slow
def test_compiled_model_keeps_pruned_weights_at_zero_through_a_prune():
    "torch.compile'd forward: pruned weights stay 0 after the prune, and the prune makes no new graph and no graph break."
    torch._dynamo.reset(); counters.clear()
    c = make_config('oneshot_magnitude', model='mlp', train_epochs=2, finetune=3, compile='on', log_test=False)
    pipe = TicketPipeline(c)
    seen = []
    def after_epoch(p):
        seen.append((p.ctl.phase, p.ctl.mask.sparsity(), _pruned_are_zero(p), counters['stats']['unique_graphs'], sum(counters['graph_break'].values())))
    r = pipe.run(callback=after_epoch)
    assert pipe.net is not pipe.model and r.execution['compile'] == 'on'
    finetune = [s for s in seen if s[0] in ('finetune', 'done')]     # right after the prune, then after each of 3 masked epochs
    assert len(finetune) == 4 and all(abs(s[1] - 0.9) < 1e-3 and s[2] for s in finetune)
    assert len({s[3] for s in finetune}) == 1, f"recompiled after the prune: {seen}"     # the graphs compiled before the prune serve every masked epoch
    assert seen[-1][4] == 0, 'graph breaks'
    assert list(pipe.model.state_dict()) == list(get_model('mlp', (40,), 10).state_dict())   # checkpoints keep the plain names

def test_mixed_precision_runs_on_cpu(tmp_path):
    "bf16 autocast and fp16 with a GradScaler: a run reaches its sparsity; the precision is recorded, not hashed."
    base = dict(model='mlp', train_epochs=2, finetune=1, ramp='1ep', stabilize='0ep', cycles=2, log_test=False)
    for prec in ('bf16', 'fp16'):
        c = make_config('unilth', precision=prec, device='cpu', **base)
        assert c.hash == make_config('unilth', **base).hash
        r = run(c, tmp_path/prec)
        assert r.execution == {'device': 'cpu', 'precision': prec, 'channels_last': False, 'compile': 'off', 'world_size': 1}
        assert abs(r.sparsity['prunable'] - 0.9) < 1e-3 and math.isfinite(r.test_loss)
    ck = torch.load(next((tmp_path/'fp16').glob('*/checkpoint.pt')), weights_only=False)
    assert ck['scaler'] is not None and 'scale' in ck['scaler']                       # a resumed fp16 run keeps its loss scale
    with pytest.raises(ConfigError, match='precision'): make_config('unilth', precision='fp8')

def test_channels_last_pipeline_on_cpu():
    "channels_last on request: the conv weights and the batches are NHWC, masks follow, pruned weights stay 0."
    x = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8); y = torch.arange(64) % 4
    data = build_data({'train': (x, y), 'test': (x[:16], y[:16]), 'images': True, 'augment': True}, seed=0, batch_size=16, on_device=True)
    c = make_config('random_scratch', model='resnet20', train_epochs=1, channels_last='on', log_test=False, val_fraction=0.25)
    pipe = TicketPipeline(c, data=data)
    r = pipe.run()
    conv = next(m for m in pipe.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and r.execution['channels_last']
    assert next(iter(pipe.data.train))[0].is_contiguous(memory_format=torch.channels_last)
    assert _pruned_are_zero(pipe) and abs(r.sparsity['prunable'] - 0.9) < 1e-3

@pytest.mark.slow                     # a benchmark's quick run: make test-slow
def test_gpu_speed_quick_on_cpu(tmp_path):
    "benchmarks/gpu_speed.py --device cpu --quick runs and reports its rows and ratios (on 256 images here, to keep the suite short)."
    out = tmp_path/'rows.json'
    p = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'gpu_speed.py'), '--device', 'cpu', '--quick', '--images', '256', '--workers', '0', '--json', str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert 'masked/dense' in p.stdout and 'dense/bare' in p.stdout
    row = json.loads(out.read_text())['rows'][0]
    assert row['model'] == 'resnet20' and row['precision'] == 'fp32' and row['images'] == 256
    for k in ('bare', 'dense', 'masked', 'growing L2', 'dataloader'): assert row[k] > 0

@cuda
def test_device_images_on_cuda_equal_the_cpu_reference():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(40) % 10
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    dev = DeviceImageBatches(x, y, mean, std, 16, shuffle=True, augment=True, seed=3, device='cuda')
    ref = ImageDataset(x, y, mean, std, augment=True)
    ref.draw_augmentation(make_generator(3, ORDER_STREAM, 0))
    order = dev.draws(0)[0]
    xs = torch.cat([b for b, _ in dev]).cpu()
    torch.testing.assert_close(xs, torch.stack([ref[int(k)][0] for k in order]), atol=1e-6, rtol=0)

@cuda
def test_pipeline_on_cuda_bf16_channels_last():
    x = torch.randint(0, 256, (512, 3, 32, 32), dtype=torch.uint8); y = torch.arange(512) % 10
    data = build_data({'train': (x, y), 'test': (x[:64], y[:64]), 'images': True, 'augment': True}, seed=0, batch_size=64, device='cuda')
    assert isinstance(data.train, DeviceImageBatches) and data.train.x.is_cuda
    c = make_config('oneshot_magnitude', model='resnet20', train_epochs=2, finetune=2, device='cuda', log_test=False, val_fraction=0.25)
    pipe = TicketPipeline(c, data=data)
    r = pipe.run()
    assert r.execution == {'device': 'cuda', 'precision': 'bf16', 'channels_last': True, 'compile': 'off', 'world_size': 1}
    assert _pruned_are_zero(pipe) and abs(r.sparsity['prunable'] - 0.9) < 1e-3 and math.isfinite(r.test_loss)
