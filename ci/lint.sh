#!/usr/bin/env bash
# The repository's checks on its C++: formatting (.clang-format) and clang-tidy (.clang-tidy)
# over bridge/, harness/ and boost_test/, with zero findings. clang-tidy reads the compile
# commands of a configure-only tree (build/lint/commands: the dev preset without unity builds, so
# each source has its own entry). Writes build/lint/junit/lint.xml, one case per check, so the closing
# count of ci/test.sh includes them. Exit 1 when a check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
sources=$(git ls-files 'bridge/*.cpp' 'bridge/*.hpp' 'harness/*.cpp' 'harness/*.hpp' 'boost_test/*.cpp' 'boost_test/*.hpp')
translation_units=$(git ls-files 'bridge/src/*.cpp' 'harness/src/*.cpp' 'boost_test/src/*.cpp')
mkdir -p build/lint/junit
status=0

echo "--- clang-format: bridge/ and harness/ against .clang-format"
format_log=build/lint/format.log
if clang-format --dry-run -Werror $sources >"$format_log" 2>&1; then
  format_failure=""
else
  status=1
  format_failure="$(head -c 20000 "$format_log")"
  cat "$format_log"
  echo "(fix with: clang-format -i \$(git ls-files 'bridge/*.[ch]pp' 'harness/*.[ch]pp' 'boost_test/*.[ch]pp'))"
fi

tidy_log=build/lint/tidy.log
cmake --preset dev -B build/lint/commands -DCMAKE_UNITY_BUILD=OFF -DPYASYNC_TLS_DESCRIPTORS=OFF >/dev/null || exit 1
# Only the units whose preprocessed text, command or configuration changed since a clean run
# (tools/tidy_cache.py): clang-tidy over all of them takes five minutes on two cores.
stale_units=$(/usr/bin/python3 tools/tidy_cache.py stale build/lint/commands/compile_commands.json $translation_units) || exit 1
echo "--- clang-tidy: $(echo $stale_units | wc -w) of $(echo $translation_units | wc -w) translation units" \
  "against .clang-tidy (the others are unchanged since a clean run)"
if { [ -z "$stale_units" ] || run-clang-tidy -quiet -j "$(nproc)" -p build/lint/commands $stale_units >"$tidy_log" 2>&1; } &&
   ! grep -qsE '(warning|error): ' "$tidy_log"; then
  tidy_failure=""
  [ -z "$stale_units" ] || /usr/bin/python3 tools/tidy_cache.py clean build/lint/commands/compile_commands.json $stale_units
else
  status=1
  tidy_failure="$(grep -E -A3 '(warning|error): ' "$tidy_log" | head -c 20000)"
  grep -E -A3 '(warning|error): ' "$tidy_log" || tail -40 "$tidy_log"
fi

/usr/bin/python3 - "$format_failure" "$tidy_failure" <<'PY'
import sys
from xml.sax.saxutils import escape, quoteattr
import re
# clang-tidy colours its findings: terminal escapes and other control characters are not XML 1.0.
def plain(text):
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text))
cases = [("clang-format", plain(sys.argv[1])), ("clang-tidy", plain(sys.argv[2]))]
failures = sum(1 for _, text in cases if text)
with open("build/lint/junit/lint.xml", "w") as out:
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="lint" tests="2" failures="{failures}">\n')
    for name, text in cases:
        if text:
            out.write(f'  <testcase classname="lint" name={quoteattr(name)}><failure message="findings">{escape(text)}</failure></testcase>\n')
        else:
            out.write(f'  <testcase classname="lint" name={quoteattr(name)}/>\n')
    out.write("</testsuite></testsuites>\n")
PY
[ $status -eq 0 ] && echo "lint: no findings"
exit $status
