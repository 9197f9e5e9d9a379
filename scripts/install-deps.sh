#!/bin/bash
# Install the build and test dependencies of bootstrap with apt-get, idempotently.
#   scripts/install-deps.sh            build + test dependencies (what `make` and `make test` need)
#   scripts/install-deps.sh --static   also the musl toolchain and the tools `make static` needs
#   scripts/install-deps.sh --bench    also the peers and servers bench/ compares against
# Runs apt-get through sudo when not root, and says so. Does nothing when all is installed.
set -euo pipefail

BUILD_PKGS=(build-essential pkg-config libcurl4-openssl-dev libarchive-dev libcjson-dev libssl-dev)
TEST_PKGS=(python3 python3-pip openssl curl clang libclang-rt-14-dev shellcheck zstd xz-utils bzip2 zip unzip tmux
           util-linux procps iproute2 file valgrind e2fsprogs exfatprogs exfat-fuse
           git portaudio19-dev libsox-dev ffmpeg)   # the last three: fish-speech (test 610)
STATIC_PKGS=(musl-tools dpkg-dev cmake autoconf automake libtool perl linux-libc-dev)
BENCH_PKGS=(nginx-light curl wget aria2 time hyperfine gnuplot-nox iptables ethtool python3-venv)   # + Go (toxiproxy: bench/setup-tools.sh)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
for arg in "$@"; do
    case $arg in
    --static) want+=("${STATIC_PKGS[@]}") ;;
    --bench) want+=("${BENCH_PKGS[@]}") ;;
    --build-only) want=("${BUILD_PKGS[@]}") ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]} with sudo" >&2
    SUDO=(sudo)
else
    echo "install-deps: installing ${missing[*]}" >&2
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || echo "install-deps: apt-get update failed, trying with the lists at hand" >&2
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
