# Two commands do everything on a fresh machine:
#   make site   build the site into site/ (creates .venv and installs the stack first)
#   make test   run every test (also installs Debian's chromium for the browser test)
# A builder with an NVIDIA GPU gives each framework its own environment (torch's CUDA 13
# wheels and tensorflow[and-cuda]'s CUDA 12 ones write the same nvidia/*/lib files):
#   make site GPU=1   creates .venv-torch and .venv-tf from requirements-gpu-{torch,tf}.txt,
#                     runs `regen.py doctor`, and builds with GUIDE_PYTHON_TORCH / GUIDE_PYTHON_TF
#                     pointing at them (the mkdocs process itself stays in .venv)

PYTHON ?= python3
REQUIREMENTS ?= requirements.txt
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(notdir $(REQUIREMENTS))

ifeq ($(GPU),1)
TORCH_VENV ?= .venv-torch
TF_VENV ?= .venv-tf
FRAMEWORK_STAMPS := $(TORCH_VENV)/.installed-requirements-gpu-torch.txt $(TF_VENV)/.installed-requirements-gpu-tf.txt
export GUIDE_PYTHON_TORCH := $(CURDIR)/$(TORCH_VENV)/bin/python
export GUIDE_PYTHON_TF := $(CURDIR)/$(TF_VENV)/bin/python
DOCTOR := $(BIN)/python scripts/regen.py doctor
endif

.PHONY: site serve test venv chromium clean

site: $(STAMP) $(FRAMEWORK_STAMPS)
	$(DOCTOR)
	$(BIN)/mkdocs build --strict

serve: $(STAMP)
	$(BIN)/mkdocs serve

test: $(STAMP) chromium
	$(BIN)/python -m pytest

venv: $(STAMP)

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
