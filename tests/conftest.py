import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('UNILTH_QUIET', '1')

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: a long check, left to make test-slow (make test runs the others)')

def run_py(code:str, **kw) -> subprocess.CompletedProcess:
    "Run `code` in a fresh python process (same interpreter), from the repository root."
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=600, **kw)

@pytest.fixture
def py(): return run_py
