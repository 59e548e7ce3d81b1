"""Where a resnet20 training step's time goes on a GPU: milliseconds per step of variants, the launch rate, a profile.

    python benchmarks/gpu_step_diag.py [--batch 128]
"""
import argparse, time
import torch, torch.nn.functional as F
from unilth_nb.models import get_model

def step_ms(model, opt, x, y, dtype, steps=40, warm=10, graph=False):
    "Median-free mean milliseconds of a fwd+bwd+SGD step (after `warm` steps); `graph`: the whole step captured in a CUDA graph."
    def step():
        with torch.autocast('cuda', dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = F.cross_entropy(model(x), y)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=False)
    if graph:
        s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3): step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g): step()
        run = g.replay
    else: run = step
    for _ in range(warm): run()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(steps): run()
    torch.cuda.synchronize()
    return 1000 * (time.perf_counter() - t) / steps

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--batch', type=int, default=128); a = ap.parse_args()
    dev = torch.device('cuda')
    x = torch.randn(a.batch, 3, 32, 32, device=dev); y = torch.randint(0, 10, (a.batch,), device=dev)
    e = torch.zeros(1, device=dev); torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(2000): e.add_(1)
    torch.cuda.synchronize(); print(f"launch: {1e6 * (time.perf_counter() - t) / 2000:.1f} us per tiny kernel (eager add_)")
    t = time.perf_counter()
    for _ in range(2000): torch.empty(0)
    print(f"python+dispatch floor: {1e6 * (time.perf_counter() - t) / 2000:.1f} us per torch.empty(0) on the CPU")
    for bench in (False, True):
        torch.backends.cudnn.benchmark = bench
        for dtype, cl in ((None, False), (torch.bfloat16, False), (torch.bfloat16, True)):
            for graph in (False, True):
                torch.manual_seed(0)
                m = get_model('resnet20', (3, 32, 32), 10).to(dev)
                xx = x
                if cl: m = m.to(memory_format=torch.channels_last); xx = x.contiguous(memory_format=torch.channels_last)
                opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
                try: ms = step_ms(m, opt, xx, y, dtype, graph=graph)
                except Exception as ex: ms = float('nan'); print('  failed:', type(ex).__name__, str(ex)[:100])
                print(f"cudnn.benchmark={bench!s:5} {'bf16' if dtype else 'fp32'} {'channels_last' if cl else 'contiguous   '} "
                      f"{'cuda graph' if graph else 'eager     '}: {ms:.2f} ms/step = {ms * 391 / 1000 if a.batch == 128 else ms * 50000 / a.batch / 1000:.2f} s/epoch", flush=True)
    torch.backends.cudnn.benchmark = False
    m = get_model('resnet20', (3, 32, 32), 10).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9); xx = x.contiguous(memory_format=torch.channels_last)
    step_ms(m, opt, xx, y, torch.bfloat16, steps=5)
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step_ms(m, opt, xx, y, torch.bfloat16, steps=10, warm=0)
    print(prof.key_averages().table(sort_by='self_cuda_time_total', row_limit=12, max_name_column_width=50))
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=8, max_name_column_width=50))

if __name__ == '__main__': main()
