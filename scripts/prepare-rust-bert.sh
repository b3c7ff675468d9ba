#!/usr/bin/env bash
# Prepares what the `rust-bert` backend (cargo feature `rust-bert`) needs, from the registries only:
# a CPU libtorch 2.4.0 directory assembled from PyPI wheels (torch 2.4.0 and the two NVIDIA runtime
# wheels its CPU library links against), at .libtorch/ (about 565 MB). The model itself comes from
# scripts/fetch-model.sh; the backend writes rust_model.ot beside it on first load.
# Then build and run with the environment this script prints:
#   eval "$(scripts/prepare-rust-bert.sh)" && cargo test --features rust-bert --test embedder_agreement
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=$PWD/.libtorch
if [ ! -f "$DEST/lib/libtorch_cpu.so" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "prepare-rust-bert.sh: downloading torch 2.4.0 and the CUDA runtime wheels from PyPI (about 810 MB)" >&2
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
    torch==2.4.0 nvidia-cuda-runtime-cu12==12.1.105 nvidia-cuda-cupti-cu12==12.1.105 >&2
  (cd "$tmp" && sha256sum --check --quiet) <<SUMS
e743adadd8c8152bb8373543964551a7cb7cc20ba898dc8f9c0cdbe47c283de0  torch-2.4.0-cp311-cp311-manylinux1_x86_64.whl
6e258468ddf5796e25f1dc591a31029fa317d97a0a94ed93468fc86301d61e40  nvidia_cuda_runtime_cu12-12.1.105-py3-none-manylinux1_x86_64.whl
e54fde3983165c624cb79254ae9818a456eb6e87a7fd4d56a2352c24ee542d7e  nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl
SUMS
  python3 - "$tmp" "$DEST" <<'PY'
import os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
# The CPU libraries only: libtorch_cuda (900 MB) needs cuDNN and cuBLAS, which a CPU build never loads.
cpu_libs = {"libtorch_cpu.so", "libtorch.so", "libc10.so", "libgomp-a34b3233.so.1", "libshm.so", "libtorch_global_deps.so"}
def put(z, info, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with z.open(info) as src, open(path, "wb") as out:
        out.write(src.read())
with zipfile.ZipFile(f"{tmp}/torch-2.4.0-cp311-cp311-manylinux1_x86_64.whl") as z:
    for i in z.infolist():
        n = i.filename
        if n.endswith("/"):
            continue
        if (n.startswith("torch/lib/") and n.rsplit("/", 1)[-1] in cpu_libs) or n.startswith(("torch/include/", "torch/share/")):
            put(z, i, f"{dest}/{n[len('torch/'):]}")
for wheel in ("nvidia_cuda_runtime_cu12-12.1.105-py3-none-manylinux1_x86_64.whl",
              "nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl"):
    with zipfile.ZipFile(f"{tmp}/{wheel}") as z:
        for i in z.infolist():
            base = i.filename.rsplit("/", 1)[-1]
            if "/lib/" in i.filename and ".so" in base:
                put(z, i, f"{dest}/lib/{base}")
PY
fi
# What the build (LIBTORCH, and the pre-C++11 ABI the PyPI wheel uses) and the run need.
echo "export LIBTORCH=$DEST LIBTORCH_CXX11_ABI=0 LD_LIBRARY_PATH=$DEST/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
