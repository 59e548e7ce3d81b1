"The library's surface: it imports and works without torchvision, and bad input gets a clear error."
import configparser
import pytest, torch
from unilth_nb.all import *
from conftest import ROOT

BLOCK_TORCHVISION = "import sys; sys.modules['torchvision'] = None\n"

def test_imports_and_trains_without_torchvision(py):
    r = py(BLOCK_TORCHVISION + """
from unilth_nb.all import *
d = get_data('mnist1d'); m = get_model('cnn1d', d.input_shape, d.num_classes)
opt = make_optimizer(m, 'sgd', lr=0.05)
print(train_epoch(m, d.train, opt, enforcer=MaskEnforcer(m, prune_random(m, 0.9), opt))['iterations'])
for f, a in ((get_model, ('resnet18', (3, 224, 224), 10)), (get_data, ('cifar10',))):
    try: f(*a, root='/nonexistent') if f is get_data else f(*a)
    except ConfigError as e: print('ERR', e)
""")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == '36'
    assert out[1].startswith("ERR model 'resnet18' needs torchvision (pip install 'unilth_nb[vision]')")
    assert out[2].startswith("ERR dataset 'cifar10' is not under '/nonexistent' and downloading it needs torchvision")

@pytest.mark.parametrize('call, message', [
    (lambda: get_data('imagenet'), "unknown dataset 'imagenet'; allowed: mnist1d, digits, mnist, fashion_mnist, cifar10, cifar100"),
    (lambda: get_model('alexnet', (40,), 10), "unknown model 'alexnet'; allowed: mlp, cnn1d"),
    (lambda: prune_magnitude(get_model('cnn1d', (40,), 10), 1.0), "fraction must lie in [0, 1), got 1.0"),
    (lambda: prune_random(get_model('cnn1d', (40,), 10), -0.5), "fraction must lie in [0, 1), got -0.5"),
    (lambda: Mask({'conv9.weight': torch.ones(2)}).validate(get_model('cnn1d', (40,), 10)), "mask key 'conv9.weight' is not a parameter of CNN1d"),
    (lambda: Mask({'conv2.weight': torch.ones(2)}).validate(get_model('cnn1d', (40,), 10)), "mask 'conv2.weight' has shape (2,) but the parameter has shape (64, 64, 3)"),
    (lambda: Mask.load('/nonexistent/mask.pt'), "mask file '/nonexistent/mask.pt' does not exist"),
])
def test_bad_input_names_the_problem(call, message):
    with pytest.raises((ConfigError, FileNotFoundError)) as e: call()
    assert message in str(e.value)

def test_requirements_loose_for_users_pinned_here():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    d = cfg['DEFAULT']
    assert 'torch>=2.3' in d['requirements'].split() and 'torchvision' not in d['requirements']
    assert d['allowed_cell_metadata_keys'] == 'tags'   # keeps papermill's `parameters` tag through nbdev_clean
    pins = (ROOT/'constraints.txt').read_text().split()
    assert 'torch==2.13.0' in pins and 'nbdev==2.4.14' in pins

def test_installed_torch_is_the_pinned_cpu_build():
    assert torch.__version__.startswith('2.13.0')
