#!/usr/bin/env bash
# The GPU checks of the GPU path in one go (about 10 minutes on one H200), each step under its own time limit so
# that a slow one leaves the others their turn. Logs and JSON go into $OUT (default: runs/gpu_checks), the accuracy
# runs into $ACC (default: $OUT).       bash benchmarks/gpu_checks.sh
# Without the package installed it runs from the repository (PYTHONPATH=.); UNILTH_DATA may point at a folder
# holding mnist1d_default_v1.npz (the MNIST-1D cache) where the mnist1d package is missing.
set -u
OUT=${OUT:-runs/gpu_checks}; ACC=${ACC:-$OUT}; mkdir -p "$OUT" "$ACC"
export PYTHONPATH=".:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 UNILTH_QUIET=1
PY=${PY:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
speed() { local t=$1 name=$2; shift 2; timeout "$t" $PY benchmarks/gpu_speed.py --json "$OUT/$name.json" "$@" 2>&1 | grep -v Warn | tee "$OUT/$name.log"; }

echo "== 1. tests (the CUDA ones, and the compile / precision / layout ones)"
timeout 75 $PY -m pytest -q tests/test_gpu_path.py -k "not quick" -p no:cacheprovider 2>&1 | tail -2
echo "== 2. eager epoch seconds: resnet20 at batch 128 and 512 (+ the DataLoader reference), resnet56 and vgg16 at 512"
speed 210 eager_resnet20 --models resnet20
speed 80 eager_resnet56_vgg16_b512 --models resnet56,vgg16 --batch 512 --epochs 1 --no_dataloader
echo "== 3. torch.compile: CUDA graphs (reduce-overhead) at 128 and 512, the default mode at 128; graphs before and after a prune"
speed 110 compile_reduce_overhead_resnet20_b128 --compile_only --compile_mode reduce-overhead --models resnet20 --batch 128
speed 80 compile_reduce_overhead_resnet20_b512 --compile_only --compile_mode reduce-overhead --models resnet20 --batch 512
speed 130 compile_default_resnet20_b128 --compile_only --compile_mode on --models resnet20 --batch 128
echo "== 4. accuracy: fp32 against bf16 on MNIST-1D (dense and unilth at 0.9, seeds 0-2, cuda)"
for p in fp32 bf16; do
  timeout 55 $PY -m unilth_nb sweep --presets dense,unilth --sparsities 0.9 --seeds 0-2 --workers 6 --device cuda \
    --precision $p --out "$ACC/acc_$p" --quiet > "$OUT/acc_$p.log" 2>&1; echo "$p: exit $?"
done
$PY - "$ACC" <<'PY' | tee "$OUT/accuracy_fp32_vs_bf16.txt"
import json, sys, pathlib, statistics as st
out = pathlib.Path(sys.argv[1])
for p in ('fp32', 'bf16'):
    rs = [json.loads(f.read_text()) for f in sorted((out/f'acc_{p}').glob('*/result.json'))]
    for preset in ('dense', 'unilth'):
        a = [r['test_acc'] for r in rs if r['preset'] == preset]
        sec = [sum(v['seconds'] for v in r['cost'].values()) for r in rs if r['preset'] == preset]
        if a: print(f"{p} {preset}: test acc {100*st.mean(a):.2f} (seeds {len(a)}: {', '.join(f'{100*x:.1f}' for x in a)}), {st.mean(sec):.1f} s per run, {rs[0]['execution']}")
PY
echo "== 5. where a step's time goes"; timeout 60 $PY benchmarks/gpu_step_diag.py 2>&1 | grep -v Warn | tee "$OUT/step_diag.log" | head -16
