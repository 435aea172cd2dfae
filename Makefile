# Two commands do everything on a fresh machine:
#   make site   build the site into site/ (creates .venv and installs the stack first)
#   make test   run every test (also installs Debian's chromium for the browser test)
# A builder with an NVIDIA GPU gives each framework its own environment (torch's CUDA 13
# wheels and tensorflow[and-cuda]'s CUDA 12 ones write the same nvidia/*/lib files):
#   make site GPU=1   creates .venv-torch and .venv-tf from requirements-gpu-{torch,tf}.txt,
#                     runs `regen.py doctor`, and builds with GUIDE_PYTHON_TORCH / GUIDE_PYTHON_TF
#                     pointing at them (the mkdocs process itself stays in .venv)
# TFX cannot share .venv (it needs protobuf<7, pandas<3, ...), so `make venv` also builds
# .venv-tfx from the lock requirements-tfx.txt, at the same time as .venv (make -j2).

PYTHON ?= python3
REQUIREMENTS ?= requirements.txt
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(notdir $(REQUIREMENTS))
TFX_LOCK := requirements-tfx.txt
TFX_VENV := .venv-tfx
TFX_STAMP := $(TFX_VENV)/.installed-$(TFX_LOCK)

ifeq ($(GPU),1)
TORCH_VENV ?= .venv-torch
TF_VENV ?= .venv-tf
FRAMEWORK_STAMPS := $(TORCH_VENV)/.installed-requirements-gpu-torch.txt $(TF_VENV)/.installed-requirements-gpu-tf.txt
export GUIDE_PYTHON_TORCH := $(CURDIR)/$(TORCH_VENV)/bin/python
export GUIDE_PYTHON_TF := $(CURDIR)/$(TF_VENV)/bin/python
DOCTOR := $(BIN)/python scripts/regen.py doctor
endif

.PHONY: site serve test venv chromium clean

site: venv
	$(DOCTOR)
	$(BIN)/mkdocs build --strict

serve: venv
	$(BIN)/mkdocs serve

test: venv chromium
	$(BIN)/python -m pytest

# The environments are independent: install them at once, two pip processes side by side.
venv:
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(TFX_STAMP) $(FRAMEWORK_STAMPS)

$(STAMP): $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The core stack first; then each ecosystem extra on its own, timed and sized
	# into $(VENV)/install-costs.json for the Ecosystem page.
	$(PYTHON) scripts/engine/install_costs.py base $(REQUIREMENTS) > $(VENV)/core-requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q -r $(VENV)/core-requirements.txt
	$(BIN)/python scripts/engine/install_costs.py record $(REQUIREMENTS) $(VENV)/install-costs.json
	# Make snippets/ and scripts/ importable in this venv, so every snippet runs
	# as a plain `python snippets/<page>/<name>.py`.
	printf '%s\n%s\n' "$(CURDIR)/snippets" "$(CURDIR)/scripts" > \
		"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pytorch-vs-tensorflow-guide.pth"
	rm -f $(VENV)/.installed-*
	touch $@

# TFX's own environment: its lock, --no-deps, into a fresh venv (a lock installs onto nothing
# else), timed and sized into $(TFX_VENV)/install-costs.json with what `pip check` says of it.
$(TFX_STAMP): $(TFX_LOCK)
	rm -rf $(TFX_VENV)
	$(PYTHON) -m venv $(TFX_VENV)
	$(PYTHON) scripts/engine/install_costs.py venv tfx $(TFX_LOCK) $(TFX_VENV) $(REQUIREMENTS)
	printf '%s\n%s\n' "$(CURDIR)/snippets" "$(CURDIR)/scripts" > \
		"$$($(TFX_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pytorch-vs-tensorflow-guide.pth"
	touch $@

# One environment per framework (GPU=1): FRAMEWORK_VENV(venv, requirements file).
define FRAMEWORK_VENV
$(1)/.installed-$(2): $(2)
	test -x $(1)/bin/python || $$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --disable-pip-version-check -q -r $(2)
	touch $$@
endef
ifeq ($(GPU),1)
$(eval $(call FRAMEWORK_VENV,$(TORCH_VENV),requirements-gpu-torch.txt))
$(eval $(call FRAMEWORK_VENV,$(TF_VENV),requirements-gpu-tf.txt))
endif

# The browser test drives Debian's chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf site .cache docs/generated
