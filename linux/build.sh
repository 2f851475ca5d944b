#!/usr/bin/env bash
# Build the mainline kernel for the emulated LPC4337 M4, cached by a hash of every input.
#   linux/build.sh [OUT_LINK]   -> prints the cache directory holding Image, vmlinux, *.dtb
# Inputs: Debian's linux-source-6.1 tarball, arch/arm/configs/lpc18xx_defconfig plus
# linux/config/*.config, linux/patches/*.patch (applied in name order) to existing files,
# linux/src/ (new files, laid out as in the kernel tree), linux/dts/*.dts, the cross compiler.
# A cold build takes a few minutes on 2 cores; a warm one nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tarball=$(ls /usr/src/linux-source-6.1.tar.xz)
cross=${CROSS_COMPILE:-arm-linux-gnueabi-}
# Reproducible: the version banner must not name this machine or this hour.
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 1970" KBUILD_BUILD_USER=amp-bench \
       KBUILD_BUILD_HOST=amp-bench KBUILD_BUILD_VERSION=1
cache_root=${AMP_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-bench}
mkdir -p "$cache_root/linux"
# Snapshot the inputs first, and hash the snapshot: an edit during a long build can then
# neither end up in the wrong cache entry nor be missed.
inputs=$(mktemp -d "$cache_root/linux/inputs.XXXXXX")
trap 'rm -rf "$inputs"' EXIT
(cd "$here" && cp -r config patches src dts build.sh "$inputs/")
key=$( { sha256sum "$tarball" | cut -c1-64; "${cross}gcc" --version | head -n1;
         cd "$inputs" && find . -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
out="$cache_root/linux/$key"
if [ ! -f "$out/done" ]; then
  work="$cache_root/linux/build-$key"
  rm -rf "$work" && mkdir -p "$work"
  echo "linux: building $key in $work (cold cache: a few minutes)" >&2
  tar -xf "$tarball" -C "$work"
  src="$work/linux-source-6.1"
  for p in $(ls "$inputs"/patches/*.patch 2>/dev/null | LC_ALL=C sort); do
    patch -d "$src" -p1 --quiet < "$p"
  done
  cp -r "$inputs"/src/. "$src/"
  cp "$inputs"/dts/*.dts "$src/arch/arm/boot/dts/"
  make -C "$src" -s ARCH=arm CROSS_COMPILE="$cross" lpc18xx_defconfig
  "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$inputs"/config/*.config >/dev/null
  make -C "$src" -s ARCH=arm CROSS_COMPILE="$cross" olddefconfig
  make -C "$src" -s ARCH=arm CROSS_COMPILE="$cross" -j"$(nproc)" Image vmlinux
  mkdir -p "$out.tmp"
  for dts in "$inputs"/dts/*.dts; do
    name=$(basename "$dts" .dts)
    cpp -nostdinc -undef -x assembler-with-cpp -I "$src/include" -I "$src/arch/arm/boot/dts" \
        "$src/arch/arm/boot/dts/$name.dts" | dtc -q -I dts -O dtb -o "$out.tmp/$name.dtb" -
  done
  cp "$src/arch/arm/boot/Image" "$src/vmlinux" "$src/.config" "$out.tmp/"
  rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/done"
  rm -rf "$work"
fi
if [ $# -ge 1 ]; then ln -sfn "$out" "$1"; fi
echo "$out"
