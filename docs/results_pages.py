"""A results page per question, computed from the published files in nbs/results/ (docs/build.py writes them into the site).

    python docs/results_pages.py [--out DIR]     # writes DIR/<page>.md (default: print the page names and sizes)

Each page is a compact table and a few sentences computed from the files; each comparison gets one verdict word (better,
worse, equivalent within the margin, or not resolved) beside the interval of the test that gave it (`statistics.compare`:
the sign-flip test, Bonferroni over the family the page names). Where a published file holds a family's verdicts but not
its seeds' differences, the page shows the word of its published test (Holm) and no interval beside it.
"""
import argparse, json, math, sys
from pathlib import Path
import numpy as np
import pandas as pd
from unilth_nb.statistics import compare, primary_pairs, min_seeds, mean_ci, sentences_of, summarize, verdicts
from unilth_nb.tables import verdict_interval, verdict_markdown, md_table
from unilth_nb.findings import dense_table, power_check, power_markdown, what_to_use, when_markdown, study_controls, controls_markdown

ROOT = Path(__file__).resolve().parents[1]
RES = ROOT/'nbs'/'results'
MARGIN = 0.005
BASELINES = ('lrr', 'dlth', 'greg', 'oneshot_magnitude', 'random_scratch', 'unidlth')   # the comparison notebook's `baselines`

def _json(p): return json.loads(Path(p).read_text())
def _pct(v): return f"{100 * v:.1f}"
def _fig(sub, name, alt): return f"![{alt}](../results/{sub}/{name})" if (RES/sub/name).is_file() else ''

def one_word(difference:str, equivalence:str) -> str:
    "A published (Holm) verdict pair as one word: better / worse where the difference test says so, equivalent, else not resolved."
    return difference if difference in ('better', 'worse') else 'equivalent' if equivalence == 'equivalent' else 'not resolved'

def _accuracy_table(runs, note:str=''):
    "Preset x sparsity: mean test accuracy [95% CI] and training FLOPs against one dense training."
    sps = sorted(runs[runs.target_sparsity > 0].target_sparsity.unique())
    def cell(g):
        if not len(g): return ''
        m, lo, hi = mean_ci(g.test_acc)
        return f"{_pct(m)} [{_pct(lo)}, {_pct(hi)}], {g.train_rel.mean():.2f}x" if lo == lo else f"{_pct(m)}, {g.train_rel.mean():.2f}x"
    rows = [[p] + [cell(g[g.target_sparsity == sp]) for sp in sps] for p, g in runs[runs.target_sparsity > 0].groupby('preset')]
    dense = runs[runs.preset == 'dense']
    if len(dense): rows.append(['dense (sparsity 0)'] + [cell(dense)] * len(sps))
    n = int(runs.groupby(['preset', 'target_sparsity']).size().max())
    return (md_table(['preset'] + [f"sparsity {sp:g}" for sp in sps], rows)
            + f"\n\nTest accuracy (%), mean over up to {n} seeds [95% t interval], and training FLOPs against one dense training.{note}")

def _against_dense(runs):
    "Per sparsity, every pruning preset against dense, one family per sparsity: a word per cell."
    sps = sorted(runs[runs.target_sparsity > 0].target_sparsity.unique())
    fams = {sp: compare(runs, [(sp, p, 'dense') for p in sorted(set(runs[runs.target_sparsity == sp].preset))], MARGIN, bootstrap=False).set_index('preset') for sp in sps}
    rows = [[p] + [fams[sp].verdict.get(p, '') for sp in sps] for p in sorted(set(runs.preset) - {'dense'})]
    m = {sp: len(f) for sp, f in fams.items()}
    return md_table(['preset against dense'] + [f"sparsity {sp:g} (m = {m[sp]})" for sp in sps], rows), fams

def comparison(folder='compare', title='The comparison'):
    info, runs = _json(RES/folder/'results.json'), pd.read_csv(RES/folder/'results.csv')
    p = info['parameters']
    counts = runs[runs.target_sparsity > 0].groupby('target_sparsity').preset.nunique()
    most = counts.max()
    few = {sp: sorted(runs[runs.target_sparsity == sp].preset.unique()) for sp, k in counts.items() if k < most}
    note = ''.join(f" At sparsity {sp:g} only {len(ps)} of the {most} presets ran ({', '.join(ps)}): its column ranks those alone." for sp, ps in few.items())
    prim = compare(runs, primary_pairs(runs, 'unilth', ('lth',), BASELINES), MARGIN, bootstrap=False)
    if folder == 'compare':                  # the comparison notebook's sentences, recomputed from the published runs: the files agree with the code
        assert verdicts(summarize(runs), runs, versus=('lth',), baselines=BASELINES) == info['verdicts'], 'the recomputed sentences differ from the published ones'
    dense_tab, fams = _against_dense(runs)
    match = {sp: f.index[f.verdict == 'equivalent'].tolist() for sp, f in fams.items()}
    below = {sp: int((f.verdict == 'worse').sum()) for sp, f in fams.items()}
    says = [f"{len(runs)} runs: {len(p['presets'])} presets on {p['dataset']} with the `{p['model']}`, seeds {p['seeds'][0]}-{p['seeds'][-1]}, "
            f"settings tuned on seeds {info['tuning']['seeds']} (the tuning page)."]
    says += [f"At {sp:g}, {below[sp]} of {len(fams[sp])} presets are worse than dense" + (f"; equivalent to it: {', '.join(match[sp])}" if match[sp] else '; none is shown equivalent')
             + '.' for sp in fams]
    return '\n\n'.join([f"# {title}", ' '.join(says), '## Accuracy and training cost', _accuracy_table(runs, note),
                        "## UniLTH's primary comparisons", "Named before any test number was read: UniLTH against LTH, against the baseline of "
                        "highest validation accuracy and against dense, at each sparsity; one family.", verdict_markdown(prim, 'primary'),
                        '## Which tickets win: every preset against dense', "One family per sparsity (m comparisons).", dense_tab,
                        _fig(folder, 'accuracy_vs_sparsity.png', 'accuracy against sparsity'), _fig(folder, 'curves.png', 'training curves')])

def hard(): return comparison('compare-hard', 'Every layer prunable (the hard setting)')

def tuning():
    info = _json(RES/'compare'/'results.json'); tu = info['tuning']; tr = pd.DataFrame(tu['trials'])
    said = lambda d: ', '.join(f"{k} {v}" for k, v in d.items()) or 'its default'
    rows, moved = [], 0
    for p, g in tr.groupby('preset', sort=False):
        g = g.sort_values('trial'); best = int(g.loc[g.val_mean.idxmax(), 'trial'])
        assert tu['search'][p][best] == tu['chosen'][p], f"{p}: the recorded choice is not the trial of highest validation mean"
        moved += best != 0
        rows.append([p, said(tu['chosen'][p]), ', '.join(_pct(v) for v in g.val_mean)])
    return '\n\n'.join(["# The tuning", f"{len(tr)} trial settings, each on tuning seeds {tu['seeds']} at sparsity {tu['sparsity']:g}, chosen "
                        f"on validation accuracy before any test run; {moved} of {len(rows)} presets moved off their default (the first trial).",
                        md_table(['preset', 'chosen on validation', "trials' mean validation accuracy (%), default first"], rows)])

def equal_cost():
    info = _json(RES/'compare'/'results.json')['equal_budget']; eb = pd.read_csv(RES/'compare'/'equal_budget.csv')
    c = compare(eb, [(d['sparsity'], d['preset'], d['versus']) for d in info['says']], MARGIN)   # with the bootstrap: the published sentences, recomputed
    said = sentences_of(eb, c)
    assert [said[d['sparsity'], d['preset'], d['versus']] for d in info['says']] == [d['sentence'] for d in info['says']], 'the equal-cost sentences differ from the published ones'
    what = {(d['preset'], d['versus']): d['what'] for d in info['says']}
    m, n = len(c), int(c.n.max())
    t_side = c[(c.lo * c.hi > 0)]
    rows = [[f"{r.target_sparsity:g}", what[r.preset, r.versus], r.verdict, verdict_interval(r)] for _, r in c.iterrows()]
    r = info.get('reproduced') or {}
    return '\n\n'.join(["# At equal training cost",
                        f"UniLTH claims LTH's accuracy for a fraction of its cost. Each row gives one side the other's epochs. The family has {m} "
                        f"comparisons on {n} seeds; with {n} seeds a family can carry at most {max(k for k in range(1, 64) if min_seeds(k) <= n)}, so no "
                        f"verdict here can be resolved (it takes {min_seeds(m)} seeds)." + (f" The grid runs these rows pair with were recomputed: {r['identical']} of "
                        f"{r['published']} came out identical to the published ones." if r else ''),
                        f"Exploratory, unadjusted: in {len(t_side)} of the {m} the 95% t interval excludes 0. The long sentence of each comparison, "
                        "recomputed here from the runs and checked against the published one, is in `results.json` (`equal_budget.says`). The costs are the FLOPs ledger's; the "
                        "comparison's files take the same figures for the runs both hold.",
                        md_table(['sparsity', 'comparison', 'verdict', 'difference, points [adjusted interval]'], rows)])

def parts():
    pi = _json(RES/'ablation'/'results.json')['parts']; abl = pd.DataFrame(pi['runs'])
    c = compare(abl, [(sp, 'unilth', v) for sp in pi['sparsities'] for v in pi['parts'] if v != 'unilth'], MARGIN, bootstrap=False)
    sure = c[c.verdict.isin(['better', 'worse'])]
    return '\n\n'.join(["# UniLTH's parts", f"One part of UniLTH taken out at a time, its epochs given back elsewhere (equal cost), {len(pi['seeds'])} seeds; "
                        f"UniLTH against each variant, one family of {len(c)}. 'better' means the part helps. Resolved: "
                        + ('; '.join(f"{r.versus} at {r.target_sparsity:g} ({r.verdict}, {verdict_interval(r)} points)" for _, r in sure.iterrows()) or 'none') + '.',
                        verdict_markdown(c, 'parts'), _accuracy_table(abl)])

def controls():
    info = _json(RES/'compare'/'results.json'); runs = pd.concat([pd.read_csv(RES/'compare'/'results.csv'), pd.DataFrame(info['control_runs'])])
    out = ["# Ticket controls", "Each ticket's mask trained again from the same init (`/init`), from fresh weights (`/reinit`) and shuffled within "
           "each layer (`/shuffle`). Two families answer this page's questions, and each verdict names its own."]
    for p in ('lth', 'unilth'):
        pairs = [(sp, a, b) for sp in sorted(runs[runs.preset == f'{p}/init'].target_sparsity.unique())
                 for a, b in ((p, f'{p}/init'), (f'{p}/init', f'{p}/reinit'), (f'{p}/init', f'{p}/shuffle'))]
        if pairs: out += [f"## {p}: the comparison's controls", verdict_markdown(compare(runs, pairs, MARGIN, bootstrap=False), f"{p}'s controls")]
    a = _json(RES/'analysis'/'results.json')['controls']; t = pd.DataFrame(a['table'])
    t['word'] = [one_word(r.difference, r.equivalence) for r in t.itertuples()]
    out += ["## The analysis' controls (`make analysis`)", f"{len(t)} comparisons in one family (Holm over {len(t)}); their seeds' differences are "
            "not published, so each row shows the word of that test and the mean difference, with no interval beside it. The same pair in "
            "the comparison's family above can get another word: the families differ in size.",
            md_table(['sparsity', 'comparison', 'question', 'verdict (Holm)', 'difference, points'],
                     [[f"{r.target_sparsity:g}", f"{r.preset} vs {r.versus}", r.question, r.word, f"{100 * r.diff:+.1f}"] for r in t.itertuples()])]
    return '\n\n'.join(out)

def instability():
    an = _json(RES/'analysis'/'results.json'); t = pd.DataFrame(an['instability']['table']); p = an['parameters']
    stage1 = t[t.k.astype(str) == 'stage1']
    rest = t[t.k.astype(str) != 'stage1']
    same = stage1.groupby(['barrier', 'lo', 'hi']).ngroups == 1 if len(stage1) else False
    rows = [[r.preset, r.ticket, f"{r.target_sparsity:g}", str(r.k), f"{r.barrier:+.1f} [{r.lo:+.1f}, {r.hi:+.1f}]", int(r.seeds)] for r in rest.itertuples()]
    s1 = stage1.iloc[0] if len(stage1) else None
    return '\n\n'.join(["# Instability", f"Two copies of each run trained from step k on different data orders; the test-error barrier on the straight "
                        f"path between them ({p['points']} points), mean over the seeds [95% t interval], in points. A barrier near 0 is a stable (linearly "
                        "connected) network.",
                        (f"UniLTH's stage-1 point is the dense network before any mask or penalty: its {len(stage1)} rows (one per sparsity) measure that "
                         f"one dense network{', and are identical by construction' if same else ''}; it appears once, as 'dense at UniLTH's rewind point': "
                         f"{s1.barrier:+.1f} [{s1.lo:+.1f}, {s1.hi:+.1f}] over {int(s1.seeds)} seeds." if s1 is not None else ''),
                        md_table(['preset', 'ticket', 'sparsity', 'k (steps)', 'barrier, points [95% CI]', 'seeds'], rows),
                        _fig('analysis', 'instability.png', 'instability')])

def overlap():
    ov = pd.DataFrame(_json(RES/'analysis'/'results.json')['overlap']['table'])
    seeds = ov[ov.kind == 'seeds']; up = seeds[seeds.shared_lo > seeds.shared_chance]
    pres = ov[ov.kind == 'presets']; pup = pres[pres.shared_lo > pres.shared_chance]
    rows = [[r.a, f"{r.target_sparsity:g}", f"{100 * r.shared:.1f}", f"{100 * r.shared_chance:.1f}", 'above' if r.shared_lo > r.shared_chance else 'not above']
            for r in seeds.itertuples()]
    return '\n\n'.join(["# Mask overlap", f"The share of one mask's kept weights that another also keeps, beside its value for random masks with the same "
                        f"per-layer counts. Two seeds of one preset: {len(up)} of {len(seeds)} preset and sparsity cells above chance (95% interval). Two "
                        f"presets on one seed: {len(pup)} of {len(pres)} pairs above chance. The full table, with the Jaccard index: `nbs/results/analysis/overlap.md`.",
                        md_table(['preset, two seeds', 'sparsity', 'shared (%)', 'chance (%)', 'against chance'], rows),
                        _fig('analysis', 'profiles.png', 'layer profiles')])

def landscape():
    an = _json(RES/'analysis'/'results.json'); ls, p = an['landscape'], an['parameters']['landscape']
    pngs = [f"![the landscape](../results/analysis/{Path(f).name})" for f in ls['files'] if f.endswith('.png') and (RES/'analysis'/Path(f).name).is_file()]
    own = ls.get('plane_of', 'unilth')
    rows = [[n, 'its init, stage-1 point and final ticket span the plane' if n == own else 'projected on the plane'] for n in sorted(ls['distance'] | {own: 0})]
    return '\n\n'.join(["# The loss landscape", f"Seed {p['seed']}, sparsity {p['sparsity']:g}, a {p['resolution']}x{p['resolution']} grid: training and "
                        f"validation loss on the plane through {own}'s init, its stage-1 point and its final ticket, with the other trajectories "
                        f"projected on it. The plane is built from {own}'s own points, so how far each trajectory leaves it favours {own} by "
                        "construction; this page reports no distance, only the picture, which shows where the other methods' projections run.",
                        md_table(['trajectory', 'on the plane'], rows), *pngs])

def es_vs_l2():
    e = _json(RES/'es_vs_l2'/'results.json'); c = pd.DataFrame(e['comparisons']); m = e['parameters']['margin']
    word = lambda v: one_word(*v)                      # the published words are early stopping's: 'worse' is a higher loss
    rows = [[r.versus, word(r.verdict), f"{r.diff:+.4f}"] for r in c.itertuples()]
    pts = pd.DataFrame(e['points']); es = pts[pts.method == 'early stopping']
    return '\n\n'.join(["# Early stopping against L2", f"Does early stopping act like L2 on the network? Validation loss (nats) of early stopping against "
                        f"L2 at {len(e['parameters']['strengths'])} strengths, {len(e['parameters']['seeds'])} seeds; early stopping's best epoch "
                        f"{es.epoch.mean():.1f} on average. One family (Holm over {len(c)}, the published test; seeds' differences not published, so no "
                        f"interval beside the word); 'better' means early stopping reached the lower loss, equivalence within ±{m:g} nats.",
                        md_table(['early stopping vs', 'verdict (Holm)', 'difference, nats'], rows), _fig('es_vs_l2', 'es_vs_l2.png', 'early stopping against L2')])

def inference():
    inf = _json(RES/'inference'/'results.json'); ir = pd.DataFrame(inf['rows'])
    # the dense network of one model and batch is the same computation at every sparsity (zeros are multiplied too): the spread
    # of its timings is this machine's noise, and a ratio inside it is no measured difference
    band = ir.groupby(['model', 'batch']).dense_s.agg(lambda s: s.max() / s.min()).rename('noise')
    ir = ir.join(band, on=['model', 'batch'])
    call = lambda r, k: f"{r[k]:.2f}x" if (r[k] > r.noise or r[k] < 1 / r.noise) else f"same (within {r.noise:.2f}x)"
    rows = [[r.model, f"{r.sparsity:g}", r.batch, f"{1e3 * r.dense_s:.3f}", call(r, 'masked_ratio'), call(r, 'sparse_ratio')] for _, r in ir.iterrows()]
    faster = ir[ir.sparse_ratio < 1 / ir.noise]
    return '\n\n'.join(["# What sparsity buys at inference on a CPU", f"Measured on {inf['machine']}, {inf['date']}. The dense network of one model "
                        "and batch is the same computation at every sparsity, so the spread of its timings (largest over smallest) is the noise "
                        f"of this machine: {', '.join(f'{m} batch {b} {v:.2f}x' for (m, b), v in band.items())}. A ratio inside that band is "
                        f"reported as the same. Sparse layers were faster than dense, beyond the noise, in {len(faster)} of {len(ir)} cases"
                        + (': ' + '; '.join(f"{r.model} at {r.sparsity:g}, batch {r.batch}" for r in faster.itertuples()) if len(faster) else '') + '.',
                        md_table(['model', 'sparsity', 'batch', 'dense ms', 'masked (x dense)', 'sparse (x dense)'], rows)])

def nm():
    n = _json(RES/'nm'/'results.json'); c = pd.DataFrame(n['comparisons'])
    rows = [[f"{r.preset} vs {r.versus}", one_word(r.difference, r.equivalence), f"{100 * r['diff']:+.1f}"] for _, r in c.iterrows()]
    sm = [[r['preset'], r['n'], f"{_pct(r['test_mean'])} [{_pct(r['ci_lo'])}, {_pct(r['ci_hi'])}]", f"{r['train_rel']:.2f}", f"{r['inference_rel']:.2f}"] for r in n['summary']]
    return '\n\n'.join([f"# {n['nm']} against unstructured sparsity", f"{len(n['seeds'])} seeds, {n['runs']} runs at sparsity {n['sparsity']:g}; every one of "
                        f"the {n['checked']} {n['nm']} tickets keeps exactly {n['nm'].split(':')[0]} of every {n['nm'].split(':')[1]} weights. One family "
                        f"(Holm over {len(c)}, the published test; no interval beside the word), equivalence within ±{100 * n['margin']:g} points.",
                        md_table(['comparison', 'verdict (Holm)', 'difference, points'], rows),
                        md_table(['method', 'seeds', 'test accuracy (%) [95% CI]', 'training FLOPs (x dense)', 'inference FLOPs (x dense)'], sm)])

def sparse_init():
    s = _json(RES/'sparse_init'/'results.json'); t = pd.DataFrame(s['table'])
    return '\n\n'.join(["# The sparse-from-init methods, and a sparse init", f"At sparsity {s['parameters']['sparsities'][0]:g}, {len(s['parameters']['seeds'])} seeds: "
                        "each method from the init as drawn and rescaled to each unit's kept fan-in.", md_table(list(t.columns), t.astype(str).values.tolist()),
                        _fig('sparse_init', 'sparse_init.png', 'sparse init')])

def study():
    res = _json(RES/'study'/'results.json'); v = pd.DataFrame(res.get('verdicts', []))
    out = ["# The pre-registered study", f"The pre-registration `{res.get('prereg', {}).get('path', '')}` (hash `{str(res.get('prereg', {}).get('hash', ''))[:12]}`), "
           f"margin ±{100 * res.get('margin', MARGIN):g} points; each comparison's verdict belongs to its family (the sign-flip test, Bonferroni within it, per network and sparsity), "
           "beside the interval of the test that gave it."]
    if not len(v): return '\n\n'.join(out + ["Its results hold no verdicts yet."])
    ci = lambda r: f"{100 * r['diff']:+.1f} [{100 * r.adj_lo:+.1f}, {100 * r.adj_hi:+.1f}]" if np.isfinite(r.adj_lo) else f"{100 * r['diff']:+.1f} (no interval)"
    ct = study_controls(res)
    for fam, g in v.groupby('family', sort=False):
        if fam == 'controls' and len(ct): continue          # shown below, beside the controls' effective sparsity
        out += [f"## {fam}", md_table(['network', 'sparsity', 'comparison', 'verdict', 'difference, points [adjusted interval]', 'seeds'],
                                      [[r.network, f"{r.sparsity:g}", r.comparison, r.verdict, ci(r), int(r.n)] for _, r in g.iterrows()])]
    d = dense_table(res)
    if len(d):
        out += ["## The dense reference", "The tuned dense beside the untuned default: validation accuracy (%) on the tuning seeds, test accuracy (%) on the test seeds.",
                md_table(['network', 'tuned settings', 'validation, tuned', 'validation, default', 'test, tuned', 'test, default'],
                         [[r.network, 'the default (kept)' if r.kept else r.settings, *(_pct(x) if x == x else 'not run' for x in (r.val_tuned, r.val_default, r.test_tuned, r.test_default))] for _, r in d.iterrows()])]
    if len(ct):
        out += ["## The ticket controls", "Each `controls` label's mask retrained from its init, from fresh weights and shuffled within each layer, "
                "beside its effective sparsity (the weights its mask removes or disconnects); each control's verdict is that of its comparison "
                "in the controls family.", controls_markdown(ct)]
    planned = RES/'study_power'/'results.json'
    pc = power_check(res, _json(planned)['table'] if planned.is_file() else [])
    if len(pc):
        out += ["## Where the power calculation missed", "Each unresolved primary comparison: its measured paired spread (points) against the "
                "spread the plan assumed, the power the study had, and the seeds its measured spread and difference would need.",
                power_markdown(pc)]
    if res.get('runs'):
        out += ["## What to use when", "Per network and sparsity, the most accurate method, the methods not shown worse than it (one exploratory family "
                "per network and sparsity, Bonferroni within it: not pre-registered), and the cheapest of them to train.", when_markdown(what_to_use(res)),
                _fig('study', 'what_to_use.png', 'accuracy against training cost')]
    return '\n\n'.join(out)

PAGES = {'comparison': comparison, 'tuning': tuning, 'equal_cost': equal_cost, 'parts': parts, 'controls': controls, 'instability': instability,
         'overlap': overlap, 'landscape': landscape, 'es_vs_l2': es_vs_l2, 'inference': inference, 'nm': nm, 'hard': hard, 'sparse_init': sparse_init, 'study': study}

NEEDS = {'comparison': ('compare',), 'tuning': ('compare',), 'equal_cost': ('compare',), 'parts': ('ablation',), 'controls': ('compare', 'analysis'),
         'instability': ('analysis',), 'overlap': ('analysis',), 'landscape': ('analysis',), 'es_vs_l2': ('es_vs_l2',), 'inference': ('inference',),
         'nm': ('nm',), 'hard': ('compare-hard',), 'sparse_init': ('sparse_init',), 'study': ('study',)}      # the published folders each page reads

def pages() -> dict:
    "{name: markdown} for every page whose published files exist."
    out = {}
    for name, f in PAGES.items():
        if all((RES/d).is_dir() for d in NEEDS[name]): out[name] = f()      # a page whose results are not published yet is left out
    return out

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--out')
    a = ap.parse_args(argv)
    for name, text in pages().items():
        if a.out: Path(a.out).mkdir(parents=True, exist_ok=True); (Path(a.out)/f'{name}.md').write_text(text + '\n')
        print(f"{name}: {len(text.splitlines())} lines")
    return 0

if __name__ == '__main__': sys.exit(main())
