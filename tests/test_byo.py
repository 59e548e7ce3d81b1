"Bring your own model and data: a user module through --import (run, skip, sweep), model/data objects, identities, bad input."
import hashlib, json, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np, pytest, torch, torch.nn as nn
from unilth_nb.config import PRESETS, STANDALONE, make_config, bind_objects
from unilth_nb.store import run, run_dir

UNILTH = [str(Path(sys.executable).parent/'unilth')]
TINY = ['--train_epochs', '3', '--finetune', '1', '--ramp', '1ep', '--stabilize', '1ep', '--patience', '1', '--cycles', '2',
        '--device', 'cpu', '--log_test', 'false', '--quiet']

USER_MODULE = textwrap.dedent('''
    "A researcher's own model and data, registered for unilth_nb."
    import numpy as np, torch, torch.nn as nn
    from sklearn.datasets import load_breast_cancer
    from unilth_nb.all import register_model, register_dataset

    class ResMLP(nn.Module):
        "An MLP with residual blocks."
        def __init__(self, input_shape, num_classes, hidden=32, blocks=2):
            super().__init__()
            self.inp = nn.Linear(int(np.prod(input_shape)), hidden)
            self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden)) for _ in range(blocks))
            self.out = nn.Linear(hidden, num_classes)
        def forward(self, x):
            h = torch.relu(self.inp(x.flatten(1)))
            for b in self.blocks: h = torch.relu(h + b(h))
            return self.out(h)
    register_model('resmlp', ResMLP)

    @register_dataset('cancer', defaults={'lr': 0.05, 'batch_size': 32})
    def cancer(seed=0, test_fraction=0.2):
        x, y = load_breast_cancer(return_X_y=True)
        x = (x - x.mean(0)) / x.std(0)
        perm = np.random.default_rng(0).permutation(len(x)); n = round(test_fraction * len(x))
        return {'train': (x[perm[n:]], y[perm[n:]]), 'test': (x[perm[:n]], y[perm[:n]])}

    register_dataset('badshape', lambda seed=0: {'train': (np.zeros((10, 3)), np.zeros(8, int)), 'test': (np.zeros((4, 3)), np.zeros(4, int))})
''')

@pytest.fixture
def user_module(tmp_path):
    p = tmp_path/'my_tickets.py'; p.write_text(USER_MODULE); return p

def unilth(*args, cwd=None, timeout=600):
    return subprocess.run(UNILTH + list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, 'UNILTH_QUIET': '1'})

def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob('*')) if p.is_file()}

def test_a_user_module_runs_to_its_sparsity_through_import_and_is_skipped_when_finished(user_module, tmp_path):
    out = tmp_path/'runs'
    args = ['run', '--import', str(user_module), '--preset', 'unilth', '--dataset', 'cancer', '--model', 'resmlp',
            '--model_args', '{"hidden": 24, "blocks": 3}', '--sparsity', '0.9', '--out', str(out), *TINY]
    r = unilth(*args)
    assert r.returncode == 0, r.stderr
    (folder,) = out.iterdir()
    res = json.loads((folder/'result.json').read_text())
    assert abs(res['sparsity']['prunable'] - 0.9) <= 1e-3
    assert res['prunable'] == ['blocks.0.0.weight', 'blocks.0.2.weight', 'blocks.1.0.weight', 'blocks.1.2.weight',
                               'blocks.2.0.weight', 'blocks.2.2.weight']     # first (inp) and last (out) left dense
    cfg = json.loads((folder/'config.json').read_text())
    assert cfg['imports'] == [str(user_module.resolve())] and cfg['model_args'] == '{"blocks":3,"hidden":24}'
    assert (cfg['lr'], cfg['batch_size']) == (0.05, 32)                       # the dataset's registered defaults
    before = snapshot(out)
    again = unilth(*args)
    assert again.returncode == 0 and 'test accuracy' in again.stdout
    assert snapshot(out) == before                                            # skipped: not a file touched
    # a module name on the path works as well as a file (found from the current folder, as python -m does)
    r2 = unilth('run', '--import', 'my_tickets', '--preset', 'unilth', '--dataset', 'cancer', '--model', 'resmlp',
                '--model_args', '{"blocks": 3, "hidden": 24}', '--sparsity', '0.9', '--out', str(out), *TINY, cwd=user_module.parent)
    assert r2.returncode == 0 and snapshot(out) == before, r2.stderr          # same identity: the same finished run

def test_every_preset_sweeps_on_the_user_model_with_two_workers(user_module, tmp_path):
    out = tmp_path/'sweep'
    r = unilth('sweep', '--import', str(user_module), '--dataset', 'cancer', '--model', 'resmlp', '--presets', ','.join(STANDALONE),
               '--sparsities', '0.8', '--seeds', '0', '--workers', '2', '--out', str(out), *TINY, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    results = [json.loads(p.read_text()) for p in out.glob('*/result.json')]
    assert sorted(x['preset'] for x in results) == sorted(STANDALONE)
    for x in results:
        assert x['model'] == 'resmlp' and x['dataset'] == 'cancer'
        assert abs(x['sparsity']['prunable'] - (0.0 if x['preset'] == 'dense' else 0.8)) <= 1e-3, x['preset']
    again = unilth('sweep', '--import', str(user_module), '--dataset', 'cancer', '--model', 'resmlp', '--presets', ','.join(STANDALONE),
                   '--sparsities', '0.8', '--seeds', '0', '--workers', '2', '--out', str(out), *TINY)
    assert again.returncode == 0 and f'{len(STANDALONE)} finished already, 0 to run' in again.stdout, again.stdout

@pytest.mark.parametrize('extra, message', [
    (['--import', 'no/such/file.py'], "cannot import 'no/such/file.py': no such file"),
    (['--import', 'no_such_module_anywhere'], "cannot import 'no_such_module_anywhere': ModuleNotFoundError"),
    (['--model', 'resmlp', '--model_args', '{"hiden": 3}'], "model 'resmlp' takes no argument 'hiden'; it takes: hidden, blocks"),
    (['--dataset', 'badshape', '--model', 'mlp'], "dataset 'badshape': split 'train' has 10 examples in X but 8 labels in y"),
    (['--dataset', 'cancer', '--data_args', '{"test_frac": 0.5}'], "dataset 'cancer' takes no argument 'test_frac'; it takes: seed, test_fraction"),
    (['--dataset', 'mnist1d', '--model', 'resnet20'], "model 'resnet20' cannot take inputs of shape (40,)"),
    (['--dataset', 'cancer', '--model', 'cnn1d', '--model_args', '{"width": 8}', '--prune_include', 'decoder'], "prune_include pattern 'decoder' matches no module"),
    (['--preset', 'gmp', '--cycles', '1', '--update_every', '100ep'], "leaves no mask update between update_start 0.2 and update_end 0.75"),
    (['--preset', 'lth', '--mask_control', 'invert'], "mask_control 'invert' applies to select snip, grasp, synflow, not to select 'magnitude'"),
    (['--preset', 'set', '--cycles', '1', '--drop_fraction', '2'], "drop_fraction must lie in (0, 1), got 2.0"),
    (['--preset', 'rigl', '--cycles', '1', '--warmup', 'none'], "mask_update 'rigl' changes the mask during the warm-up: it needs warmup 'full'"),
    (['--preset', 'snip', '--score_batches', '0'], "score_batches must be an integer >= 1, got 0"),
    (['--preset', 'gmp', '--cycles', '1', '--sparse_init', 'fan_in'], "sparse_init 'fan_in' rescales a sparse network that starts from the init weights"),
    (['--preset', 'snip', '--sparse_init', 'kaiming'], "unknown sparse_init 'kaiming'"),
])
def test_bad_user_input_exits_2_with_one_line_and_no_run_folder(user_module, tmp_path, extra, message):
    out = tmp_path/'runs'
    argv = ['run', '--import', str(user_module), '--out', str(out), *TINY, *extra]
    r = unilth(*argv)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count('\n') == 1 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not out.exists() or not any(out.iterdir())

def test_a_failing_import_names_the_file_and_the_error(tmp_path):
    bad = tmp_path/'broken.py'; bad.write_text('import torch\nraise RuntimeError("needs a GPU")\n')
    r = unilth('run', '--import', str(bad), '--out', str(tmp_path/'runs'), *TINY)
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert f"cannot import '{bad}': RuntimeError: needs a GPU" in r.stderr

class Net(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 3)
    def forward(self, x): return self.c(torch.relu(self.b(torch.relu(self.a(x)))))

def _data(shift=0.0):
    g = np.random.default_rng(0)
    x = g.normal(size=(300, 6)); y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    return {'train': (x[:240] + shift, y[:240]), 'test': (x[240:] + shift, y[240:])}

def test_model_and_data_objects_through_the_python_api(tmp_path):
    cfg = make_config('unilth', sparsity=0.8, train_epochs=4, finetune=1, ramp='1ep', stabilize='1ep', patience=1, cycles=2,
                      device='cpu', log_test=False, batch_size=32)
    torch.manual_seed(0); net = Net(); init = {k: v.clone() for k, v in net.state_dict().items()}
    res = run(cfg, tmp_path, progress=False, model=net, data=_data())
    assert abs(res.sparsity['prunable'] - 0.8) <= 1e-3 and res.model == 'Net' and res.dataset == 'custom'
    assert res.prunable == ['b.weight']
    assert all(torch.equal(v, init[k]) for k, v in net.state_dict().items())     # the user's module is the init, untouched
    (folder,) = tmp_path.iterdir()
    before = snapshot(tmp_path)
    assert run(cfg, tmp_path, progress=False, model=net, data=_data()) == res and snapshot(tmp_path) == before   # skipped
    torch.manual_seed(1); other_init = Net()
    torch.manual_seed(0); wider = Net(hidden=17)
    names = {folder.name}
    for model, data in ((other_init, _data()), (wider, _data()), (net, _data(shift=0.1))):
        names.add(run_dir(bind_objects(cfg, model, data).config, tmp_path).name)
    assert len(names) == 4                     # another init, another architecture, other data: each its own run

def test_objects_and_registries_work_on_bf16_models():
    from unilth_nb.masks import Mask, prune_magnitude
    from unilth_nb.training import MaskEnforcer
    torch.manual_seed(0); net = Net().to(torch.bfloat16)
    mask = prune_magnitude(net, 0.5, Mask.ones(net))
    assert all(m.dtype == torch.bool for m in mask.values())
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    enf = MaskEnforcer(net, mask, opt)
    for _ in range(3):
        x = torch.randn(8, 6, dtype=torch.bfloat16); loss = net(x).float().pow(2).mean()
        opt.zero_grad(); loss.backward(); enf.apply_grads(); opt.step(); enf.apply_weights()
    assert (net.b.weight[~mask['b.weight']] == 0).all() and net.b.weight.dtype == torch.bfloat16
