#!/usr/bin/env bash
# Build the livecap desktop bundle with PyInstaller (Linux; macOS works the same way) and smoke-test it.
#
#   packaging/build.sh                 # CPU build: venv in packaging/.venv-build, bundle in packaging/dist/livecap
#   VENV=/tmp/v packaging/build.sh     # another build venv
#   FLAVOUR=gpu packaging/build.sh     # onnxruntime-gpu + the CUDA/cuDNN libraries of the nvidia-* wheels
#   SKIP_INSTALL=1 packaging/build.sh  # reuse the venv as it is
#   SKIP_TESTS=1 packaging/build.sh    # no smoke test
#   VIDEO=clip.mp4 packaging/build.sh  # the video the smoke test processes: use one with people in it, so the
#                                      # numba skeleton fit runs (default: the sample clip samples/two_people.mp4
#                                      # when present, else a synthetic clip with nobody in it)
#
# The venv holds only what the bundle needs: whatever else is installed there can end up in the bundle.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="${VENV:-$HERE/.venv-build}"
FLAVOUR="${FLAVOUR:-cpu}"
PYTHON="${PYTHON:-python3}"
DIST="$HERE/dist"
APP="$DIST/livecap/livecap"

case "$FLAVOUR" in
  cpu) EXTRA=cpu ;;
  gpu) EXTRA=gpu; export LIVECAP_BUNDLE_CUDA=1 ;;
  *) echo "FLAVOUR must be cpu or gpu, not $FLAVOUR" >&2; exit 2 ;;
esac

if [[ -z "${SKIP_INSTALL:-}" ]]; then
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  # PyQt6 6.12 has no usable wheels on PyPI: stay on 6.11. Never opencv-python (it ships its own Qt).
  "$VENV/bin/python" -m pip install --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -e "$ROOT[$EXTRA,gui]" "pyinstaller>=6.10"
  if "$VENV/bin/python" -m pip show opencv-python >/dev/null 2>&1; then
    echo "opencv-python is installed in $VENV: it breaks Qt in the bundle; pip uninstall opencv-python" >&2; exit 1
  fi
fi

echo "== PyInstaller"
start=$(date +%s)
(cd "$ROOT" && "$VENV/bin/pyinstaller" --noconfirm --distpath "$DIST" --workpath "$HERE/build" "$HERE/livecap.spec")
echo "built $DIST/livecap in $(( $(date +%s) - start )) s, $(du -sh "$DIST/livecap" | cut -f1)"

[[ -n "${SKIP_TESTS:-}" ]] && exit 0

echo "== smoke test"
now() { "$VENV/bin/python" -c 'import time; print(time.time())'; }
since() { "$VENV/bin/python" -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 2))" "$1"; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# a numba cache of its own, so the test also proves the first-run compile into an empty cache
export NUMBA_CACHE_DIR="$WORK/numba-cache"

"$APP" --version
"$APP" models verify

SAMPLE_VIDEO="$ROOT/samples/two_people.mp4"  # the sample clip shipped in the repository (two people)
[[ -z "${VIDEO:-}" && -f "$SAMPLE_VIDEO" ]] && VIDEO="$SAMPLE_VIDEO"
if [[ -z "${VIDEO:-}" ]]; then
  # no video given: write a short synthetic clip with the build venv's OpenCV (no person in it; the test is
  # that the pipeline runs end to end and writes one result line per frame)
  VIDEO="$WORK/clip.mp4"
  "$VENV/bin/python" - "$VIDEO" <<'PY'
import sys, cv2, numpy as np
out = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
for i in range(12):
    frame = np.full((480, 640, 3), 40, np.uint8)
    cv2.circle(frame, (100 + 30 * i, 240), 40, (200, 180, 160), -1)
    out.write(frame)
out.release()
PY
fi

for run in first second; do
  t0=$(now)
  "$APP" process "$VIDEO" --out "$WORK/$run.jsonl" --max-frames 10 --no-progress
  echo "process ($run run, numba cache $([[ $run == first ]] && echo empty || echo warm)): $(since "$t0") s"
done

"$VENV/bin/python" - "$WORK/second.jsonl" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
frames = [l for l in lines if "people" in l]
assert len(frames) == 10, f"expected 10 frame lines, got {len(frames)} (of {len(lines)} lines)"
people = [p for f in frames for p in f["people"]]
fitted = sum("joints3d" in p for p in people)
print(f"JSONL ok: {len(lines)} lines, {len(frames)} frames, {len(people)} people found, {fitted} with a fitted skeleton")
if not fitted:
    print("WARNING: nobody in the video, so the numba skeleton fit did not run: give VIDEO=a clip with people")
    open(sys.argv[1] + ".nofit", "w").close()
PY
if [[ ! -e "$WORK/second.jsonl.nofit" ]]; then
  [[ -n "$(find "$NUMBA_CACHE_DIR" -name '*.nbi' 2>/dev/null)" ]] || { echo "numba wrote no cache to $NUMBA_CACHE_DIR" >&2; exit 1; }
  echo "numba cache: $(find "$NUMBA_CACHE_DIR" -name '*.nbi' | wc -l) index files, $(du -sh "$NUMBA_CACHE_DIR" | cut -f1)"
fi

QT_QPA_PLATFORM=offscreen "$APP" --bundle-selftest
if [[ -n "${DISPLAY:-}" ]]; then "$APP" --bundle-selftest --gl; else echo "no DISPLAY: skipped the OpenGL window check (run it under Xvfb: see packaging/README.md)"; fi
echo "== smoke test passed"
