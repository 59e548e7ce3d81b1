"""Short configs of every preset (and variants that end phases mid-epoch), their results summarized, for the refactor-safety test.

`python tests/refruns.py tests/reference_runs.json` records them (done before the TicketController refactor on the Xeon named
in that file; `reference_runs_amd_epyc.json` at 3207f64, before the split of the pipeline module, on the AMD EPYC);
`test_controller.py` compares every later version with the record of the machine it runs on (bit for bit), else with the first."""
import hashlib, json, os, platform
import torch

TINY = dict(train_epochs=3, finetune=2, patience=1, device='cpu', log_test=True, batch_size=50)
CONFIGS = {
    'lth': dict(preset='lth', sparsity=0.8, **TINY),
    'lth_init': dict(preset='lth', sparsity=0.6, rewind_to='init', rate=0.2, **TINY),
    'lth_midepoch': dict(preset='lth', sparsity=0.6, rewind_to='30it', **TINY),
    'dlth': dict(preset='dlth', sparsity=0.9, ramp='1ep', stabilize='1ep', **TINY),
    'dlth_iter_ramp_it': dict(preset='dlth_iter', sparsity=0.9, cycles=2, ramp='50it', stabilize='20it', **TINY),
    'greg': dict(preset='greg', sparsity=0.9, ramp='1ep', stabilize='1ep', scope='layer', **TINY),
    'unilth': dict(preset='unilth', sparsity=0.9, cycles=2, ramp='1ep', stabilize='1ep', **{**TINY, 'train_epochs': 6}),
    'unilth_adamw_es2': dict(preset='unilth', sparsity=0.9, cycles=2, ramp='1ep', stabilize='1ep', optimizer='adamw', lr=0.01,
                             reg_lr=0.005, finetune_lr=0.01, weight_decay=1e-3, es_rewind='2', **{**TINY, 'train_epochs': 5}),
    'unilth_rewind_es': dict(preset='unilth', sparsity=0.8, cycles=2, ramp='1ep', stabilize='1ep', rewind_to='early_stop', **{**TINY, 'train_epochs': 5}),
    'unidlth_erk': dict(preset='unidlth', sparsity=0.9, cycles=2, ramp='1ep', stabilize='1ep', allocation='erk', **{**TINY, 'train_epochs': 5}),
    'dense_multistep': dict(preset='dense', schedule='multistep', milestones='1,2', weight_decay=1e-4, **TINY),
    'oneshot_magnitude': dict(preset='oneshot_magnitude', sparsity=0.95, **TINY),
    'random_scratch': dict(preset='random_scratch', sparsity=0.9, **TINY),
}

def machine() -> str:
    "Where bit-identical figures can be expected: CPU model, torch version and thread count."
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor()) if os.path.exists('/proc/cpuinfo') else platform.processor()
    return f"{cpu} | torch {torch.__version__} | {torch.get_num_threads()} threads"

def summary(res: dict, rows: list, masks: dict) -> dict:
    "What must not change: accuracies, losses, sparsities, costs in epochs and iterations, events, rows, masks."
    return {'test_acc': res['test_acc'], 'test_loss': res['test_loss'], 'val_acc': res['val_acc'], 'sparsity': res['sparsity'],
            'cost': {k: [v['epochs'], v['iterations']] for k, v in res['cost'].items()}, 'prune_events': res['prune_events'],
            'stage1': res['stage1'], 'cycles': res['cycles'],
            'rows': [{k: v for k, v in r.items() if k != 'wall_time'} for r in rows],
            'masks': {n: hashlib.sha1(m.cpu().numpy().tobytes()).hexdigest() for n, m in masks.items()}}

def run_reference(name: str) -> dict:
    from unilth_nb.config import make_config
    from unilth_nb.pipeline import TicketPipeline
    kw = dict(CONFIGS[name]); preset = kw.pop('preset')
    p = TicketPipeline(make_config(preset, **kw), progress=False)
    res = p.run()
    return {'hash': p.cfg.hash, **summary(res.to_dict(), p.rows, p.ctl.mask)}

if __name__ == '__main__':
    import sys
    torch.set_num_threads(1)
    out = {'machine': machine(), 'runs': {n: run_reference(n) for n in CONFIGS}}
    json.dump(out, open(sys.argv[1], 'w'), indent=1, sort_keys=True)
    print({n: (r['test_acc'], r['cost']['total']) for n, r in out['runs'].items()})
