# Two entry points, as in the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test system-packages check bench

# The virtual environment is rebuilt only when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed
install-test: $(BIN)/.installed-test

# A secret key made once per checkout, so the embedded default runs with DEBUG off.
.secret_key:
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

run: install .secret_key
	SECRET_KEY="$$(cat .secret_key)" $(BIN)/python manage.py migrate --noinput
	SECRET_KEY="$$(cat .secret_key)" $(BIN)/python manage.py check
	@echo "Serving on http://$(HOST):$(PORT)/"
	SECRET_KEY="$$(cat .secret_key)" $(BIN)/daphne -b $(HOST) -p $(PORT) troubleshooter.asgi:application

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot be used);
# the deploy kit's test runs Debian's nginx.
system-packages:
	@{ command -v chromium && test -x /usr/sbin/nginx; } >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium nginx; }

# Lint and types first: they take seconds and catch what the slower tests would.
test: install-test system-packages
	$(BIN)/ruff check .
	$(BIN)/mypy troubleshooter
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: install
	SECRET_KEY=check-only $(BIN)/python manage.py check
