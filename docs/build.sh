#!/usr/bin/env bash
# Builds the documentation site: Doxygen's XML of the public headers, then Sphinx (MyST pages,
# Breathe, the generated references), every warning an error.
#
#   docs/build.sh BUILD_DIR [OUT]    BUILD_DIR: a pyasync build (its harness binaries and Python
#                                    package are what the references are generated from);
#                                    OUT: default BUILD_DIR/docs (the site: OUT/html/index.html)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:?usage: docs/build.sh BUILD_DIR [OUT]}" && pwd)"
out="${2:-$build/docs}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
python="$(grep -m1 '^Python3_EXECUTABLE:' "$build/CMakeCache.txt" | cut -d= -f2)"
python="${python:-/usr/bin/python3}"

export PYASYNC_DOXYGEN_OUT="$out/doxygen" PYASYNC_DOXYGEN_STRIP="$root"
PYASYNC_DOXYGEN_INPUT="$(cd "$root" && "$python" docs/_ext/pyasync_reference.py --doxygen-input)"
export PYASYNC_DOXYGEN_INPUT
rm -rf "$PYASYNC_DOXYGEN_OUT" && mkdir -p "$PYASYNC_DOXYGEN_OUT"
(cd "$root" && doxygen docs/Doxyfile)
# Doxygen still lists detail classes deriving from public ones ("Subclassed by"): the reference
# leaves detail out, so such a link could not resolve.
sed -i '/<derivedcompoundref refid="[^"]*_1_1detail_1_1/d' "$PYASYNC_DOXYGEN_OUT"/xml/*.xml

export PYASYNC_DOXYGEN_XML="$out/doxygen/xml"
export PYASYNC_DOCS_HARNESS="$build/pytests/pyasync_bridge_suite"  # any harness binary: one flag table
export PYTHONPATH="$build/python${PYTHONPATH:+:$PYTHONPATH}"
"$python" -m sphinx -W --keep-going -n -q -b html -d "$out/doctrees" "$root/docs" "$out/html"
echo "docs: $out/html/index.html"
