# Everything a fresh machine needs: `make demo` (index + recommend on a real
# library) and `make test`. Both create $(VENV) from constraints.txt first.
VENV ?= .venv
PY := $(VENV)/bin/python
# The demo only indexes and recommends: the light install (no torch, about 0.6 GB) in its own venv.
LITE ?= .venv-lite
LITE_PY := $(LITE)/bin/python
LITE_STAMP := $(LITE)/.installed-$(shell (cat constraints.txt pyproject.toml; echo $(CURDIR)) | sha256sum | cut -c1-12)
LOCK := constraints.txt
STAMP := $(VENV)/.installed-$(shell (cat $(LOCK) pyproject.toml; echo $(CURDIR)) | sha256sum | cut -c1-12)
# make demo LIBRARY=~/Music HISTORY="~/Music/a.mp3 ~/Music/b.flac": genrerec/demo.py reads
# these from the environment (spaces and non-ASCII names need no escaping); see its docstring.
export LIBRARY HISTORY DEMO_DB DEMO_MUSIC
# TORCH_INDEX=https://download.pytorch.org/whl/cpu installs the CPU-only torch build (no 5 GB of CUDA).
TORCH_INDEX ?=

.PHONY: venv lite demo test test-lite bench docs clean

venv: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -c $(LOCK) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch torchvision
	$(PY) -m pip install -q -c $(LOCK) -e '.[dev,ray]'
	rm -f $(VENV)/.installed-*
	touch $@

lite: $(LITE_STAMP)

$(LITE_STAMP): $(LOCK) pyproject.toml
	test -x $(LITE_PY) || python3 -m venv $(LITE)
	$(LITE_PY) -m pip install -q -c $(LOCK) -e .
	rm -f $(LITE)/.installed-*
	touch $@

# The main job: index a music folder with the shipped model (ONNX Runtime, no torch), then
# write a playlist (fetches free music from Debian when there is no LIBRARY and no ../shared/gtzan).
demo: $(LITE_STAMP)
	$(LITE_PY) -m genrerec.demo

# pytest exits 5 when it collected nothing: that is a failure here.
test: $(STAMP)
	$(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests were collected"; exit 1; fi; exit $$rc

# The light install's own check (CI runs it too): index, recommend, similar and classify in
# $(LITE) with every import of torch refused and written down (.ci/torch_free.py).
test-lite: $(LITE_STAMP)
	$(LITE_PY) .ci/torch_free.py

bench: $(STAMP)
	$(PY) -m pip install -q -c $(LOCK) -e ".[dev,bench]"
	$(PY) benchmarks/run_quick.py

docs: $(STAMP)
	$(PY) -c "from genrerec.cli.docgen import api_reference as a, cli_reference as c; \
		open('docs/cli.md', 'w').write(c()); open('docs/api.md', 'w').write(a())"

clean:
	rm -rf .demo demo-playlist.m3u8 .pytest_cache
