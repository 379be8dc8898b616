#!/usr/bin/env bash
# Installs what building and testing ecocorridor needs on a Debian/Ubuntu machine that has Rust:
#   cmake + libclang-dev  (HiGHS, the MILP solver, is compiled from source through bindgen)
#   gdal-bin              (the tests check our GeoTIFFs with gdalinfo, the planners' reference)
# It does nothing when everything is present. Run as root, or with sudo available.
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
command -v gdalinfo >/dev/null 2>&1 || missing+=(gdal-bin)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: need root or sudo to install ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 2
fi
