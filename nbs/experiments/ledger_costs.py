"""Usage: python nbs/experiments/ledger_costs.py [nbs/results/compare] (make publish-results runs it).

The published full comparison's costs from the runs that recorded their FLOPs ledger: where nbs/results/compare/equal_budget.csv holds a
run of results.csv (the grid runs the equal-budget rows recomputed), its cost columns replace the ones counted without a ledger; the
summary's means and table.md follow."""
import json, sys, time
from pathlib import Path
import pandas as pd
from unilth_nb.core import save_json, atomic_write
from unilth_nb.statistics import COST_COLUMNS, summarize
from unilth_nb.tables import table_markdown
res = Path(sys.argv[1] if len(sys.argv) > 1 else 'nbs/results/compare')
if not (res/'equal_budget.csv').is_file(): sys.exit(0)
t = time.time()
runs, eb = pd.read_csv(res/'results.csv'), pd.read_csv(res/'equal_budget.csv')
led = eb.drop_duplicates('run').set_index('run')[list(COST_COLUMNS)]
hit = runs.run.isin(led.index)
changed = int((runs.loc[hit, 'train_rel'].to_numpy() != led.loc[runs.run[hit], 'train_rel'].to_numpy()).sum())
runs.loc[hit, list(COST_COLUMNS)] = led.loc[runs.run[hit]].to_numpy()
print(f"{changed} of the {int(hit.sum())} runs both files hold had other training FLOPs; now the ledger's")
if not changed: sys.exit(0)
atomic_write(res/'results.csv', lambda f: runs.to_csv(f, index=False))
info = json.loads((res/'results.json').read_text())
by = runs.set_index('run')
for r in info['runs']:
    for c in COST_COLUMNS: r[c] = type(r[c])(by.loc[r["run"], c]) if isinstance(r[c], (int, float)) else float(by.loc[r["run"], c])
sm = summarize(runs)
info['summary'] = sm.to_dict(orient='records')
save_json(info, res/'results.json')
old = (res/'table.md').read_text()
table = table_markdown(sm)
extra = old.split(table.split('\n')[-1], 1)[1] if table.split('\n')[-1] in old else ''
atomic_write(res/'table.md', lambda f: Path(f).write_text(table + extra if extra.strip() else table + '\n'))
print(f"results.csv, results.json and table.md rewritten in {time.time() - t:.0f} s")
