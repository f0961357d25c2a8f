#!/usr/bin/env bash
# Reproducible conversion of the pretrained MusiCNN weights shipped in the `musicnn`
# PyPI wheel (ISC licence) into genrerec checkpoints and the port's test reference.
# Needs network access to PyPI once; uses a throwaway TensorFlow venv (never at run
# time, never in CI). Usage: bash scripts/convert_musicnn.sh [WORKDIR]
#   -> genrerec/assets/musicnn-msd-pretrained.pt, musicnn-mtt-pretrained.pt
#   -> tests/data/MSD_musicnn-reference.npz (fixed input + the TF graph's outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-${TMPDIR:-/tmp}/genrerec-musicnn-convert}"
PY="${PYTHON:-.venv/bin/python}"
mkdir -p "$WORK"
if [ ! -x "$WORK/tfvenv/bin/python" ]; then
  python3 -m venv "$WORK/tfvenv"
  "$WORK/tfvenv/bin/pip" install -q "tensorflow-cpu==2.21.0" "tf_keras==2.21.0" "librosa==0.11.0" "numpy<2"
fi
"$WORK/tfvenv/bin/pip" download -q --no-deps "musicnn==0.1.0" -d "$WORK"
wheel="$WORK/musicnn-0.1.0-py3-none-any.whl"
echo "wheel sha256: $(sha256sum "$wheel" | cut -d' ' -f1)"
rm -rf "$WORK/wheel" && mkdir -p "$WORK/wheel" && (cd "$WORK/wheel" && python3 -m zipfile -e "$wheel" .)
for m in MSD_musicnn MTT_musicnn; do
  TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 "$WORK/tfvenv/bin/python" scripts/musicnn_tf_export.py \
    --wheel-dir "$WORK/wheel" --model "$m" --out "$WORK/export"
  lower=$(echo "${m%_musicnn}" | tr 'A-Z' 'a-z')
  "$PY" -c 'import sys; from genrerec.models.convert import convert; convert(*sys.argv[1:])' \
    "$WORK/export/$m.npz" "genrerec/assets/musicnn-$lower-pretrained.pt" "$m" \
    "musicnn 0.1.0 wheel from PyPI, sha256 $(sha256sum "$wheel" | cut -d' ' -f1)"
done
mkdir -p tests/data
cp "$WORK/export/MSD_musicnn-reference.npz" tests/data/
cp "$WORK/wheel/musicnn-0.1.0.dist-info/LICENSE.md" genrerec/assets/LICENSE-musicnn.txt
echo "done: genrerec/assets/musicnn-*-pretrained.pt, tests/data/MSD_musicnn-reference.npz"
