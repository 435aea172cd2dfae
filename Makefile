# Two commands do everything on a fresh machine:
#   make site   build the site into site/ (creates .venv and installs the stack first)
#   make test   run every test (also installs Debian's chromium for the browser test)
# A builder with an NVIDIA GPU uses its own venv:
#   make site REQUIREMENTS=requirements-gpu.txt VENV=.venv-gpu

PYTHON ?= python3
REQUIREMENTS ?= requirements.txt
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(notdir $(REQUIREMENTS))

.PHONY: site serve test venv chromium clean

site: $(STAMP)
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

# The browser test drives Debian's chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf site .cache docs/generated
