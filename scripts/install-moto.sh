#!/usr/bin/env bash
# Installs the AWS emulator the AWS API Gateway provider's tests and benchmark run against:
# moto server (PyPI `moto[server]`, pinned) in a Python virtual environment at
# <repo>/.venv-moto (override with MOTO_VENV). Idempotent: prints nothing and exits 0 when the
# pinned version is already there.
#
#   bash scripts/install-moto.sh
#
# The test harness finds the server at $MOTO_SERVER, else <repo>/.venv-moto/bin/moto_server,
# else `moto_server` on PATH.
set -euo pipefail

MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MOTO_VENV:-$ROOT/.venv-moto}"
PYTHON="${PYTHON:-python3}"

installed_version() {
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true
}

if [[ -x "$VENV/bin/moto_server" && "$(installed_version)" == "$MOTO_VERSION" ]]; then
    exit 0
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "install-moto: $PYTHON not found; install Python 3.9+ with the venv module" >&2
    exit 1
fi

echo "install-moto: installing moto[server]==$MOTO_VERSION into $VENV" >&2
"$PYTHON" -m venv "$VENV"
# Pins: moto and the libraries its server mode and the API Gateway backend load, at the versions
# the project measured moto against (docs/reference/aws-api-gateway.md, What moto emulates).
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
    "moto[server]==$MOTO_VERSION" \
    "flask==3.1.3" \
    "werkzeug==3.1.9" \
    "openapi-spec-validator==0.9.0" \
    "pyyaml==6.0.3" \
    "joserfc==1.8.0" \
    "boto3==1.44.5" \
    "botocore==1.44.5"

if [[ "$(installed_version)" != "$MOTO_VERSION" ]]; then
    echo "install-moto: moto $MOTO_VERSION did not install (found '$(installed_version)')" >&2
    exit 1
fi
echo "install-moto: moto $MOTO_VERSION ready: $VENV/bin/moto_server" >&2
