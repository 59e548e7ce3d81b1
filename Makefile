# The two commands of the README:  `make run` (main job)  and  `make test` (the test suite).
# Each creates .venv and installs what it needs; only python3 (with venv) and make are assumed.
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt
SYNCED := nbs unilth_nb README.md

.PHONY: publish-results run run-full run-equal-budget run-hard lrr sparse-init es-vs-l2 nm analysis ablation-parts test install install-run install-dev install-lab install-docs lab test-lab docs test-docs chromium export clean readme check-sync check-readme nbtest pytest test-slow bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.py settings.ini constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-run: $(BIN)/python setup.py settings.ini constraints.txt
	$(PIP) -e ".[experiments]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@ $(VENV)/.installed

$(VENV)/.installed-dev: $(BIN)/python setup.py settings.ini constraints.txt
	$(PIP) -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@ $(VENV)/.installed $(VENV)/.installed-run

$(VENV)/.installed-lab: $(BIN)/python setup.py settings.ini constraints.txt
	$(PIP) -e ".[experiments,lab,tensorboard]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (unilth_nb)" >/dev/null
	touch $@ $(VENV)/.installed $(VENV)/.installed-run

$(VENV)/.installed-docs: $(BIN)/python setup.py settings.ini constraints.txt
	$(PIP) -e ".[docs,lightning]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-run: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev
install-lab: $(VENV)/.installed-lab
install-docs: $(VENV)/.installed-docs

## main job: nbs/experiments/reproduce.ipynb through papermill: a slice of the published comparison (dense, unilth, unidlth, gmp and
## random_scratch at 0.9 on test seeds 0-3, the published tuning's settings: 20 runs, about 5 minutes on 2 cores) -> runs/reproduce/;
## prints each preset's mean beside the published one and whether it falls inside the prediction interval of the published seeds
REPRO := runs/reproduce
run: install-run
	@mkdir -p $(REPRO)
	@echo "make run: 20 runs of the published comparison on this machine (about 5 minutes on 2 cores; resumable), then the check"
	@UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/reproduce.ipynb $(REPRO)/reproduce.ipynb --cwd . -k python3 --no-progress-bar \
	  -p out_dir $(REPRO) >$(REPRO)/papermill.log 2>&1 || { tail -30 $(REPRO)/papermill.log; exit 1; }
	@echo; cat $(REPRO)/reproduce.txt

## the full comparison under the tuning protocol: every preset's four trials on the tuning seeds 100-102 (chosen on validation), then fifteen
## presets (the ticket methods and the field's baselines) x 10 test seeds at 0.9/0.95/0.98, the ticket controls of lth and unilth, the sanity
## controls of snip, grasp and synflow, then the equal-budget rows (10 seeds) -> runs/compare-full/
## (hours; resumable: rerun to go on)
FULL := runs/compare-full
WORKERS ?= 2
run-full: install-run
	@mkdir -p $(FULL)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/compare.ipynb $(FULL)/compare.ipynb --cwd . -k python3 --no-progress-bar --log-output \
	  -p out_dir $(FULL) -p workers $(WORKERS) -p tune True -y '{"presets": ["dense", "lth", "lrr", "dlth", "greg", "unilth", "unidlth", "oneshot_magnitude", "random_scratch", "snip", "grasp", "synflow", "gmp", "set", "rigl"], "sparsities": [0.9, 0.95, 0.98], "seeds": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "controls": ["lth", "unilth"], "control_sparsities": [0.9, 0.95, 0.98], "score_controls": ["snip", "grasp", "synflow"], "equal_budget_sparsities": [0.9, 0.95, 0.98], "equal_budget_seeds": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}'
	@cat $(FULL)/table.md

## the equal-budget rows alone, on the published comparison's tuning (the settings it chose, in nbs/results/compare/results.json, not
## tuned again): the grid's lth, unilth, unidlth, oneshot_magnitude, gmp and rigl runs at 0.9/0.95/0.98 (10 seeds; it says how many come
## out identical to the published ones), then every equal-budget allocation searched on the tuning seeds and the chosen ones on the 10 test
## seeds -> runs/compare-eb/ (hours; resumable, and across machines: `make pack-compare-eb`, then `make unpack-compare-eb` on the next)
EB := runs/compare-eb
run-equal-budget: install-run
	@mkdir -p $(EB)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/compare.ipynb $(EB)/compare.ipynb --cwd . -k python3 --no-progress-bar --log-output \
	  -p out_dir $(EB) -p workers $(WORKERS) -p settings_from nbs/results/compare/results.json -y '{"presets": ["lth", "unilth", "unidlth", "oneshot_magnitude", "gmp", "rigl"], "sparsities": [0.9, 0.95, 0.98], "seeds": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "equal_budget_sparsities": [0.9, 0.95, 0.98], "equal_budget_seeds": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}'
	@cat $(EB)/equal_budget.md

## a long computation that one machine cannot finish goes on on another: `make pack-NAME` writes the finished runs under runs/NAME/
## (config, metrics, result; no checkpoints or masks) into nbs/results/packs/NAME.tar.gz, to commit; `make unpack-NAME` puts them back
## under runs/NAME/ (finished runs there are kept), then the same make target computes only what is missing. For run-equal-budget
## and run-hard; not for run-full or analysis, whose ticket controls and analyses read the masks of the grid's runs
PACKS := nbs/results/packs
pack-%: install
	$(BIN)/python -m unilth_nb pack runs/$* $(PACKS)/$*.tar.gz
unpack-%: install
	$(BIN)/python -m unilth_nb unpack $(PACKS)/$*.tar.gz runs/$*

## UniLTH's parts at equal cost (fixed warm-up, no penalty, one cycle, per-layer selection, fine-tuning lr) at 0.95/0.98, 10 seeds -> runs/ablation/
ABL := runs/ablation
ablation-parts: install-run
	@mkdir -p $(ABL)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/ablation.ipynb $(ABL)/ablation.ipynb --cwd . -k python3 --no-progress-bar --log-output \
	  -p out_dir $(ABL) -p workers $(WORKERS) -y '{"variations": {"patience": [5]}, "parts": ["unilth", "fixed warm-up", "no penalty", "one cycle", "per-layer selection", "fine-tune lr 0.05"]}'
	@cat $(ABL)/parts.md

## the hard setting under the same protocol: every layer prunable (first and last too) at 0.9/0.95/0.98/0.99 (and pruning at init and random tickets at 0.995), the ticket presets and the field's baselines, 10 seeds -> runs/compare-hard/ (hours; resumable)
HARD := runs/compare-hard
run-hard: install-run
	@mkdir -p $(HARD)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/compare.ipynb $(HARD)/compare.ipynb --cwd . -k python3 --no-progress-bar --log-output \
	  -p out_dir $(HARD) -p workers $(WORKERS) -p curve_sparsity 0.98 -p tune True -f nbs/experiments/hard.yaml
	@cat $(HARD)/table.md

## why LRR collapsed at 0.98, and weight decay: nbs/experiments/lrr.ipynb, LRR and LTH with and without weight decay, 3 seeds -> runs/lrr/ (about 30 minutes on 2 cores; resumable)
LRR := runs/lrr
lrr: install-run
	@mkdir -p $(LRR)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/lrr.ipynb $(LRR)/lrr.ipynb --cwd . -k python3 --no-progress-bar --log-output -p out_dir $(LRR) -p workers $(WORKERS)

## the sparse-from-init methods at 0.98, from the init as drawn and rescaled to each unit's kept fan-in (sparse_init): nbs/experiments/sparse_init.ipynb,
## 10 seeds, the comparison's tuned settings -> runs/sparse_init/ (about 20 minutes on 2 cores; resumable)
SPI := runs/sparse_init
sparse-init: install-run
	@mkdir -p $(SPI)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/sparse_init.ipynb $(SPI)/sparse_init.ipynb --cwd . -k python3 --no-progress-bar --log-output -p out_dir $(SPI) -p workers $(WORKERS)
	@cat $(SPI)/sparse_init.md

## early stopping against L2 on cnn1d: nbs/experiments/es_vs_l2.ipynb, 10 seeds, four strengths -> runs/es_vs_l2/ (minutes on 2 cores; resumable)
ESL2 := runs/es_vs_l2
es-vs-l2: install-run
	@mkdir -p $(ESL2)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/es_vs_l2.ipynb $(ESL2)/es_vs_l2.ipynb --cwd . -k python3 --no-progress-bar --log-output -p out_dir $(ESL2) -p workers $(WORKERS)
	@cat $(ESL2)/es_vs_l2.md

## 2:4 against unstructured 50% for LTH and UniLTH on cnn1d: nbs/experiments/nm.ipynb, 5 seeds -> runs/nm/ (about half an hour on 2 cores; resumable)
NM := runs/nm
nm: install-run
	@mkdir -p $(NM)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/nm.ipynb $(NM)/nm.ipynb --cwd . -k python3 --no-progress-bar --log-output -p out_dir $(NM) -p workers $(WORKERS)
	@cat $(NM)/nm.md

## why tickets win, on the full grid's runs (make run-full first): overlap, ticket controls, instability, the landscape -> runs/analysis/
ANALYSIS := runs/analysis
analysis: install-run
	@test -d $(FULL)/runs || { echo "no $(FULL)/runs: run 'make run-full' first"; exit 1; }
	@mkdir -p $(ANALYSIS)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/analysis.ipynb $(ANALYSIS)/analysis.ipynb --cwd . -k python3 --no-progress-bar --log-output -p runs_dir $(FULL)/runs -p out_dir $(ANALYSIS) -p workers $(WORKERS)

# copy the full comparison's report into nbs/results/compare/ (the README's headline), the hard setting's into
# nbs/results/compare-hard/, the LRR diagnosis, early stopping against L2, 2:4, UniLTH's parts and the analyses into
# nbs/results/<name>/ (each when it exists; stale equal-budget rows are removed; a grid run that the equal-budget rows recomputed
# with its FLOPs ledger gives its costs to the comparison's files, nbs/experiments/ledger_costs.py); then `make readme`
REPORT := table.md results.json results.csv accuracy_vs_sparsity.png curves.png
publish-results: install
	@test -f $(FULL)/table.md || echo "no $(FULL)/table.md: the full comparison is not published ('make run-full' first)"
	if [ -f $(FULL)/table.md ]; then mkdir -p nbs/results/compare && rm -f nbs/results/compare/equal_budget.md nbs/results/compare/equal_budget.csv && cd $(FULL) && cp $(REPORT) $$(ls equal_budget.md equal_budget.csv 2>/dev/null) ../../nbs/results/compare/; fi
	if [ -f $(EB)/equal_budget.md ] && [ ! -f $(FULL)/equal_budget.md ]; then \
	  $(BIN)/python -c "import json; from unilth_nb.core import save_json; p = 'nbs/results/compare/results.json'; r = json.load(open(p)); \
	    r['equal_budget'] = json.load(open('$(EB)/results.json'))['equal_budget']; save_json(r, p)" && \
	  cp $(EB)/equal_budget.md $(EB)/equal_budget.csv nbs/results/compare/; fi
	if [ -f nbs/results/compare/equal_budget.csv ]; then $(BIN)/python nbs/experiments/ledger_costs.py nbs/results/compare; fi
	if [ -f $(HARD)/table.md ]; then mkdir -p nbs/results/compare-hard && cd $(HARD) && cp $(REPORT) ../../nbs/results/compare-hard/; fi
	if [ -f $(LRR)/results.json ]; then mkdir -p nbs/results/lrr && cp $(LRR)/results.json $(LRR)/rounds.png nbs/results/lrr/; fi
	if [ -f $(SPI)/results.json ]; then mkdir -p nbs/results/sparse_init && cp $(SPI)/results.json $(SPI)/sparse_init.md $(SPI)/sparse_init.png nbs/results/sparse_init/; fi
	if [ -f $(ESL2)/results.json ]; then mkdir -p nbs/results/es_vs_l2 && cp $(ESL2)/results.json $(ESL2)/es_vs_l2.md $(ESL2)/es_vs_l2.png nbs/results/es_vs_l2/; fi
	if [ -f $(NM)/results.json ]; then mkdir -p nbs/results/nm && cp $(NM)/results.json $(NM)/nm.md nbs/results/nm/; fi
	if [ -f $(ABL)/parts.md ]; then mkdir -p nbs/results/ablation && cp $(ABL)/results.json $(ABL)/parts.md nbs/results/ablation/; fi
	if [ -f $(ANALYSIS)/results.json ]; then mkdir -p nbs/results/analysis && cd $(ANALYSIS) && cp results.json overlap.md controls.md instability.csv instability.png profiles.png $$(ls landscape_*.png) ../../nbs/results/analysis/; fi

## the pre-registered study (issue 36): nbs/experiments/confirm.yaml through nbs/experiments/study.ipynb -> runs/study/ (tuning, the test
## grid on cnn1d and resnet1d, the verdicts; about 12-20 hours on 2 cores; resumable: rerun to go on, and across machines: make pack-study,
## then make unpack-study on the next); TUNE_ONLY=1 stops after the tuning; PREREG=yours.yaml runs a study of your own
STUDY := runs/study
PREREG ?= nbs/experiments/confirm.yaml
study: install-run
	@mkdir -p $(STUDY)
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/study.ipynb $(STUDY)/study.ipynb --cwd . -k python3 --no-progress-bar --log-output \
	  -p prereg $(PREREG) -p out_dir $(STUDY) -p workers $(WORKERS) $(if $(TUNE_ONLY),-p tune_only True,)

## the study's pilot (resnet1d's width and sparsity, on validation) and its power calculation -> nbs/results/study_pilot/, nbs/results/study_power/
study-pilot: install-run
	@mkdir -p runs/study_pilot nbs/results/study_pilot
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/study_pilot.ipynb runs/study_pilot/study_pilot.ipynb --cwd . -k python3 --no-progress-bar \
	  --log-output -p out_dir runs/study_pilot -p workers $(WORKERS)
	cp runs/study_pilot/results.json nbs/results/study_pilot/
study-power: install-run
	UNILTH_QUIET=1 $(BIN)/papermill nbs/experiments/study_power.ipynb runs/study_power.ipynb --cwd . -k python3 --no-progress-bar --log-output

# the study's verdicts, tuning and results into nbs/results/study/, where the README and the docs read them (then make readme)
publish-study: install
	@test -f $(STUDY)/results.json || { echo "no $(STUDY)/results.json: the study has not finished ('make study' first)"; exit 1; }
	mkdir -p nbs/results/study && cp $(STUDY)/results.json $(STUDY)/tuning.json $(STUDY)/verdicts.md $(STUDY)/what_to_use.png nbs/results/study/

# the study's masks (its ticket controls read them) and its lock travel with its pack: a study resumed elsewhere still refuses a changed pre-registration
pack-study: install
	$(BIN)/python -m unilth_nb pack --masks $(STUDY) $(PACKS)/study.tar.gz
	@if [ -f $(STUDY)/prereg.lock.json ]; then cp $(STUDY)/prereg.lock.json $(PACKS)/study.lock.json; fi
unpack-study: install
	$(BIN)/python -m unilth_nb unpack $(PACKS)/study.tar.gz $(STUDY)
	@if [ -f $(PACKS)/study.lock.json ] && [ ! -f $(STUDY)/prereg.lock.json ]; then cp $(PACKS)/study.lock.json $(STUDY)/prereg.lock.json; fi

## JupyterLab on the notebooks (127.0.0.1 only; the URL with its token is printed below), the project's kernel registered
LAB_PORT ?= 8888
lab: install-lab
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir=nbs \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

## tests: notebooks and library in sync, README up to date, notebook tests, pytest, the notebooks in a real browser
test: install-dev check-sync check-readme nbtest pytest test-lab test-docs

# Debian's chromium for the browser tests, installed with apt when missing (needs root); without it the tests say SKIPPED
chromium:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium (apt)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || echo "chromium could not be installed: the browser tests will say SKIPPED"; \
	  else echo "no chromium and no root/apt to install it: the browser tests will say SKIPPED"; fi; }

## the documentation site: _docs/ from the notebooks' stored outputs (EXECUTE=1 re-runs them), Jupyter Book 1, offline
docs: install-docs
	$(BIN)/python docs/build.py $(if $(EXECUTE),--execute,)

# the site built, then opened from disk in headless Chromium: console errors, images, math, API page, search, no network
test-docs: install-dev chromium
	$(BIN)/python docs/build.py && $(BIN)/python tests/docs_check.py

# JupyterLab headless + Chromium: open index.ipynb and 01_masks.ipynb, run every cell through the UI, check the outputs
test-lab: install-dev chromium
	$(BIN)/python tests/lab_check.py

export: install-dev
	$(BIN)/nbdev_export
clean: install-dev
	$(BIN)/nbdev_clean

# nbdev_export and nbdev_clean must change nothing (CI fails otherwise)
check-sync: install-dev
	@before=$$(git ls-files -co --exclude-standard $(SYNCED) | sort | xargs sha1sum); \
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean; \
	after=$$(git ls-files -co --exclude-standard $(SYNCED) | sort | xargs sha1sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev_export / nbdev_clean changed these files; run them and commit:"; \
	  diff <(echo "$$before") <(echo "$$after") | sed -n 's/^> [0-9a-f]*  /  /p'; exit 1; fi; \
	echo "check-sync: notebooks and unilth_nb/ are in sync and clean"

# README.md is rendered from nbs/index.ipynb (Quarto, hence nbdev_readme, is not available);
# cells tagged remove_input show their output only; make readme runs the notebook first, so that it reads nbs/results/ as they are
NBCONVERT := $(BIN)/jupyter nbconvert --to markdown --log-level WARN --TagRemovePreprocessor.enabled=True \
	--TagRemovePreprocessor.remove_input_tags remove_input nbs/index.ipynb --stdout
readme: install-dev
	cd nbs && OMP_NUM_THREADS=1 ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace --log-level WARN index.ipynb
	$(BIN)/nbdev_clean --fname nbs/index.ipynb
	$(NBCONVERT) > README.md

check-readme: install-dev
	@$(NBCONVERT) | diff -q - README.md >/dev/null \
	  || { echo "README.md is out of date with nbs/index.ipynb: run 'make readme' and commit"; exit 1; }; \
	echo "check-readme: README.md is up to date"

# two notebooks at a time, one torch thread each (two processes of two OpenMP threads on two cores spin-wait)
nbtest: install-dev
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

pytest: install-dev
	$(BIN)/python -m pytest -q -m 'not slow' --durations=12 tests

# the slow notebook cells (3-seed benchmarks reported in the notebooks) and the pytest checks marked slow
test-slow: install-dev
	$(BIN)/nbdev_test --n_workers 1 --timing --flags slow
	$(BIN)/python -m pytest -q -m slow tests

bench: install
	$(BIN)/python benchmarks/masked_training.py
	$(BIN)/python benchmarks/controller_overhead.py
	$(BIN)/python benchmarks/sparse_training.py
	$(BIN)/python benchmarks/inference.py --out runs/inference
