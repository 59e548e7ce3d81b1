"""Run under torchrun by tests/test_distributed.py: one config through `run` (the CLI's path); each rank then saves its mask and a
digest of its weights. `python ddp_ranks.py CONFIG_JSON OUT [STOP]`: with STOP, every rank stops after that many epochs (as if killed)."""
import json, sys
from pathlib import Path
import torch
from unilth_nb.config import make_config
from unilth_nb.pipeline import TicketPipeline
from unilth_nb.store import run
from unilth_nb.distributed import rank, state_digest

cfg, out = make_config(**json.loads(sys.argv[1])), Path(sys.argv[2])
stop = int(sys.argv[3]) if len(sys.argv) > 3 else 0
original = TicketPipeline.run

def run_and_keep(self, callback=None):
    res = original(self, callback=(lambda p: len(p.rows) >= stop) if stop else None)
    torch.save({'mask': {k: v.cpu() for k, v in self.ctl.mask.items()}, 'digest': state_digest(self.model, self.ctl.mask),
                'epochs': len(self.rows), 'world_size': self.world}, out/f'rank{rank()}.pt')
    if res is None: raise SystemExit(0)            # stopped: leave as a killed run would (the lock goes with the process)
    return res

TicketPipeline.run = run_and_keep
run(cfg, out, progress=False)
