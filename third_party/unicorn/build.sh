#!/bin/sh
# Unicorn for the bench: the pinned version's source from PyPI with the patches in patches/
# (GPL-2.0, as Unicorn), ARM and AArch64 only, built once per set of inputs and cached under
# ~/.cache/amp-bench/unicorn/<hash>; its library then replaces the wheel's in the venv.
# The engine works with the plain wheel too, only slower (see the patches' headers).
# Usage: third_party/unicorn/build.sh <the venv's python>
set -eu
py=$1
here=$(cd "$(dirname "$0")" && pwd)
version=$("$py" -c "import importlib.metadata as m; print(m.version('unicorn'))")
cache=${AMP_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-bench}/unicorn
key=$( (echo "$version"; cat "$here/build.sh" "$here"/patches/*.patch) | sha256sum | cut -c1-16)
lib=$cache/$key/libunicorn.so.2
if [ ! -f "$lib" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "building Unicorn $version with the bench's patches (once; cached in $cache/$key)"
    "$py" -m pip download -q --no-binary :all: --no-deps "unicorn==$version" -d "$work"
    tar xzf "$work/unicorn-$version.tar.gz" -C "$work"
    for patch in "$here"/patches/*.patch; do
        patch -s -p1 -d "$work/unicorn-$version" < "$patch"
    done
    cmake -S "$work/unicorn-$version/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
        -DUNICORN_ARCH="arm;aarch64" -DUNICORN_BUILD_TESTS=off > "$work/cmake.log" 2>&1 \
        || { cat "$work/cmake.log"; exit 1; }
    cmake --build "$work/build" -j"$(nproc)" > "$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
    mkdir -p "$cache/$key"
    cp "$work/build/libunicorn.so.2" "$lib.tmp"
    mv "$lib.tmp" "$lib"
fi
dest=$("$py" -c "import os, unicorn; print(os.path.join(os.path.dirname(unicorn.__file__), 'lib', 'libunicorn.so.2'))")
if ! cmp -s "$lib" "$dest"; then  # a new file, not the old one rewritten: running processes map it
    cp "$lib" "$dest.new"
    mv "$dest.new" "$dest"
fi
