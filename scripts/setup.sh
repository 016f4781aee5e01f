#!/usr/bin/env bash
# scripts/setup.sh — install eqt's dependencies on Debian 12 (idempotent), configure and build.
#
# Installs only what is missing (apt-get needs root: run as root or through sudo), builds
# into build/ with a precompiled <torch/torch.h>, then runs `eqt env`, which fails loudly if
# LibTorch would multiply matrices with the slow reference BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake g++ make                      # toolchain
  libtorch-dev libopenblas0-pthread   # LibTorch 1.13 (CPU) and the fast BLAS it needs
  libgloo-dev                         # c10d's CPU collectives (distributed training)
  libgtest-dev libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev
  libcpp-httplib-dev pkg-config       # eqt serve (HTTP), found through pkg-config
  libsentencepiece-dev                # subword tokenizers (eqt tokenizer train, --tokenizer)
  python3 python3-torch               # the reference implementation (tests) and the Python module
  pybind11-dev python3-dev            # the Python module eqt (build/python; docs/python.md)
  chromium chromium-driver            # tests only: the page of eqt serve in a headless browser
  bible-kjv                           # the default text corpus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "setup: need root to install: ${missing[*]} (run as root or install sudo)" >&2; exit 1
    fi
  else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
build/eqt env
