"Early-Bird, a method in a module of its own (nbs/38_early_bird.ipynb): found by the registry, the configuration and the command line."
import json, os, subprocess, sys
from pathlib import Path

UNILTH = [str(Path(sys.executable).parent/'unilth')]

def unilth(*args, timeout=300):
    return subprocess.run(UNILTH + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, 'UNILTH_QUIET': '1', 'OMP_NUM_THREADS': '1'})

def test_a_fresh_interpreter_finds_the_method_through_the_configuration(py):
    "Only unilth_nb.config imported: make_config finds early_bird (the registry imports its module), its settings too."
    r = py("import sys; from unilth_nb.config import make_config\n"
           "c = make_config('early_bird', sparsity=0.95, eb_window=3)\n"
           "print(c.mask_update, c.eb_window, c.eb_threshold, c.method_args, 'unilth_nb.early_bird' in sys.modules)\n"
           "print(make_config('unilth').hash)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split('\n')[:2] == ['early_bird 3 0.1 {"eb_window":3} True', 'e37b395ad5be'], r.stdout

def test_the_command_line_offers_its_settings_and_lists_it():
    r = unilth('run', '--preset', 'early_bird', '--help')
    assert r.returncode == 0, r.stderr
    assert "early_bird's own settings" in r.stdout and '--eb_window' in r.stdout and '--eb_threshold' in r.stdout
    r = unilth('methods')
    assert r.returncode == 0 and any(l.startswith('early_bird ') and 'You et al. 2020' in l for l in r.stdout.splitlines()), r.stdout

def test_a_tiny_run_from_the_command_line(tmp_path):
    "Three warm-up epochs, shorter than the window: the mask is drawn at the warm-up's end (no early bird), then one fine-tuning epoch."
    r = unilth('run', '--preset', 'early_bird', '--train_epochs', '3', '--finetune', '1', '--device', 'cpu', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    (folder,) = tmp_path.iterdir()
    res = json.loads((folder/'result.json').read_text())
    assert folder.name.startswith('early_bird_') and abs(res['sparsity']['prunable'] - 0.9) <= 1e-3
    ev = res['prune_events'][0]
    assert (ev['update'], ev['epoch'], ev['early_bird'], ev['distance']) == ('early_bird', 3, False, None)
    assert res['cost']['warmup']['epochs'] == 3 and res['cost']['finetune']['epochs'] == 1
    assert 'training FLOPs' in r.stdout

def test_its_settings_are_checked_in_one_line(tmp_path):
    for bad, says in ((['--eb_window', '1'], 'eb_window must be an integer >= 2'),
                      (['--eb_threshold', '1.5'], 'eb_threshold must lie in (0, 1)')):
        r = unilth('run', '--preset', 'early_bird', *bad, '--out', str(tmp_path), '--dry-run')
        assert r.returncode != 0 and says in r.stderr, (bad, r.stderr)
        assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r.stderr
