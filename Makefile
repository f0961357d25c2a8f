# Everything a fresh machine needs: `make demo` (index + recommend on a real
# library) and `make test`. Both create $(VENV) from constraints.txt first.
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := constraints.txt
STAMP := $(VENV)/.installed-$(shell (cat $(LOCK) pyproject.toml; echo $(CURDIR)) | sha256sum | cut -c1-12)
LIBRARY ?= ../shared/gtzan
DEMO_DB ?= .demo/library.genrerec
HISTORY ?= $(LIBRARY)/jazz/jazz.00001.mp3 $(LIBRARY)/jazz/jazz.00003.mp3 $(LIBRARY)/metal/metal.00002.mp3

.PHONY: venv demo test bench docs clean

venv: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -c $(LOCK) torch torchvision
	$(PY) -m pip install -q -c $(LOCK) -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# The main job: index a music folder with the shipped model, then write a playlist.
demo: $(STAMP)
	$(VENV)/bin/genrerec index $(LIBRARY) --db $(DEMO_DB)
	$(VENV)/bin/genrerec recommend --db $(DEMO_DB) $(foreach h,$(HISTORY),--history $(h)) \
		--n 15 --temperature 0.3 --seed 0 --output demo-playlist.m3u8

# pytest exits 5 when it collected nothing: that is a failure here.
test: $(STAMP)
	$(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests were collected"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(PY) -m pip install -q -c $(LOCK) -e ".[dev,bench]"
	$(PY) benchmarks/run_quick.py

docs: $(STAMP)
	$(PY) -c "from genrerec._docgen import api_reference as a, cli_reference as c; \
		open('docs/cli.md', 'w').write(c()); open('docs/api.md', 'w').write(a())"

clean:
	rm -rf .demo demo-playlist.m3u8 .pytest_cache
