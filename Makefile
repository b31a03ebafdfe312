# Two commands do everything on a fresh machine: `make site` and `make test` (see README.md).
VENV := .venv
RUN := $(VENV)/bin/python -m coursekit

.PHONY: site serve test bench notebooks setup setup-browser clean

site: setup            ## set up, then build both editions into _build/html
	$(RUN) build

serve: site            ## build, then serve on http://127.0.0.1:8000
	$(RUN) serve

test: setup-browser    ## set up, then run every test (nbval, sync, parity, build -W, browser, ruff)
	$(RUN) test

bench: setup-browser   ## print timings and page sizes
	$(RUN) bench

notebooks: setup       ## authors: re-pair book/ sources into notebooks/ and execute what changed
	$(RUN) execute

setup:
	@bash scripts/setup.sh

setup-browser:
	@bash scripts/setup.sh --browser

clean:
	rm -rf _build
