#!/usr/bin/env bash
# Compiles the CUDA sources next to this script to PTX, when nvcc is on the PATH.
#
#   build-ptx.sh OUT_DIR    the Maven build: writes OUT_DIR/<name>.ptx (target/classes/io/quiver/gpu),
#                           replacing the shipped copy in the jar, and fails when the shipped copy
#                           (src/main/resources/io/quiver/gpu) was made from other sources
#   build-ptx.sh --update   rewrites the shipped copies from the sources
#
# Every PTX file starts with "// quiver-source-sha256: <hash of the .cu file>", which the tests
# check against the sources on machines without nvcc. PTX ISA 9.0 for compute capability 7.5 and
# newer (CUDA 13): the driver compiles it for the GPU it runs on.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHIPPED="$HERE/../resources/io/quiver/gpu"
NVCC_FLAGS=(-ptx -arch=compute_75 -O3)

if [ "${1:-}" = "--update" ]; then
  OUT="$SHIPPED"
elif [ -n "${1:-}" ]; then
  OUT="$1"
else
  echo "usage: build-ptx.sh OUT_DIR | --update" >&2
  exit 2
fi

if ! command -v nvcc >/dev/null 2>&1; then
  echo "[ptx] nvcc is not on the PATH: the jar ships the PTX built from the same sources (src/main/resources/io/quiver/gpu)"
  exit 0
fi

mkdir -p "$OUT"
for cu in "$HERE"/*.cu; do
  name="$(basename "$cu" .cu)"
  sha="$(sha256sum "$cu" | cut -d' ' -f1)"
  tmp="$(mktemp)"
  nvcc "${NVCC_FLAGS[@]}" -o "$tmp" "$cu"
  { echo "// quiver-source-sha256: $sha"; cat "$tmp"; } > "$OUT/$name.ptx.tmp"
  rm -f "$tmp"
  mv "$OUT/$name.ptx.tmp" "$OUT/$name.ptx"
  echo "[ptx] $name.cu -> $OUT/$name.ptx ($(nvcc --version | tail -n 2 | head -n 1))"
  shipped="$SHIPPED/$name.ptx"
  if [ "$OUT" != "$SHIPPED" ]; then
    if [ ! -f "$shipped" ] || [ "$(head -n 1 "$shipped")" != "// quiver-source-sha256: $sha" ]; then
      echo "[ptx] $shipped was not built from the current $name.cu: run gpu-kernels/src/main/cuda/build-ptx.sh --update" >&2
      exit 1
    fi
    # the same compiler release must give the same PTX
    release() { grep -m1 'Cuda compilation tools' "$1" || true; }
    if [ "$(release "$shipped")" = "$(release "$OUT/$name.ptx")" ] && ! cmp -s "$shipped" "$OUT/$name.ptx"; then
      echo "[ptx] $shipped differs from the PTX the same nvcc makes from $name.cu: run build-ptx.sh --update" >&2
      exit 1
    fi
  fi
done
