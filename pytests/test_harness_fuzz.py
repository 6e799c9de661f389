"""A seeded random-argument fuzzer over the harness's real command line.

Flags come from the binary's own --help (so a new flag is fuzzed the day it is added); values
and filters come from a pool of hostile and boundary inputs. Every run must exit 0-5 and never
die by a signal or hang, and its JSON events and JUnit file, when it writes them, must parse.
The target is verdict_probe_: every case fails or passes quickly, none hangs on purpose.
PYASYNC_FUZZ_RUNS and PYASYNC_FUZZ_SEED widen or replay a run; a failure prints its seed and
command line."""
import json
import os
import random
import re
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

PROBE = os.environ.get("PYASYNC_VERDICT_PROBE")
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_VERDICT_PROBE)")

SANITIZED = bool(os.environ.get("PYASYNC_SANITIZED"))
RUNS = int(os.environ.get("PYASYNC_FUZZ_RUNS", "12" if SANITIZED else "60"))
SEEDS = [int(os.environ["PYASYNC_FUZZ_SEED"])] if "PYASYNC_FUZZ_SEED" in os.environ else [1, 2, 3]

VALUES = ["", "0", "1", "2", "-1", "255", "256", "99999999999999999999", "1.5", "0.5", "nan", "inf", "-inf",
          "1e300", "-0", "0x10", "json", "terse", "pretty", "human", "lex", "rand", "decl", "test", "suite",
          "session", "asyncio", "uvloop", "nosuchmodule:f", "builtins:print", "asyncio:nope", "always", "never",
          "auto", "xml", "xml:", "json:x", "[", "~[", "]", "[a][b],~[c]", "*", "Fails.*-Fails.sync*", "-", ":",
          "::", "a::b", "Sentinel", "Fails", "\u00e9\u00fc\u2603", "\udcff".encode("utf-8", "surrogateescape").decode(
              "utf-8", "surrogateescape"), "x" * 5000, "\x1b[31m", "--", "=", "%s%n", "../x"]
# Boundaries, drawn half the time: they are where parsers break.
BOUNDARIES = ["", "0", "-1", "nan", "inf", "1e300", "1e-300", "256", "99999999999999999999"]
# Flags whose values could make a run endless by design are given bounded values only.
BOUNDED = {"--repeat": ["0", "1", "2"], "--gtest_repeat": ["0", "1", "2"], "--schedule-runs": ["0", "1", "2", "3"]}


def flags_of(help_text):
    flags = set(re.findall(r"--gtest_\w+", help_text))
    for line in help_text.splitlines():
        if line.startswith("  -"):
            names = re.split(r"\s{2,}", line.strip())[0]  # the column before the description
            flags.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", names))
    return sorted(flags - {"--help", "-h"})


def command_line(rng, flags, folder):
    words = []
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.7:
            flag = rng.choice(flags)
            if rng.random() < 0.6:
                value = rng.choice(BOUNDED.get(flag, BOUNDARIES if rng.random() < 0.5 else VALUES))
                words += [f"{flag}={value}"] if rng.random() < 0.3 else [flag, value]
            else:
                words.append(flag)
        else:
            words.append(rng.choice(VALUES))
    junit = os.path.join(folder, "fuzz.xml")
    if rng.random() < 0.5:
        words += ["--junit", junit]
    if rng.random() < 0.5:
        words += ["--format", "json"]
    return words, junit


def check_one(command, junit, seed, folder):
    if os.path.exists(junit):
        os.remove(junit)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYASYNC_TEST_", "TEST_", "GTEST_"))}
    where = f"seed {seed}: {PROBE} {' '.join(map(repr, command))}"
    try:
        # In the test's folder: a value taken as a report path (--junit 0.5, --gtest_output=xml)
        # writes its file there, never into the source tree.
        result = subprocess.run([PROBE, *command], capture_output=True, env=environment, timeout=120, cwd=folder)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: {where}")
    assert 0 <= result.returncode <= 5, f"exit {result.returncode}: {where}\n{result.stderr.decode(errors='replace')[-2000:]}"
    lines = result.stdout.decode("utf-8", errors="strict").splitlines()
    # Whether --format json won is the binary's call (a flag may have taken "--format" as its
    # value): once its first line is a JSON event, every line must be one.
    if lines and lines[0].startswith('{"type"'):
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                pytest.fail(f"stdout is not JSON events ({line[:200]!r}): {where}")
    if os.path.exists(junit) and result.returncode != 4:
        try:
            ElementTree.parse(junit)
        except ElementTree.ParseError as error:
            pytest.fail(f"malformed JUnit ({error}): {where}")


@pytest.mark.parametrize("seed", SEEDS)
def test_random_command_lines_exit_0_to_5_and_their_reports_parse(seed, tmp_path):
    help_text = subprocess.run([PROBE, "--help"], capture_output=True, text=True).stdout
    flags = flags_of(help_text)
    assert len(flags) > 30, flags  # the table was read
    rng = random.Random(seed)
    for _ in range(RUNS):
        command, junit = command_line(rng, flags, str(tmp_path))
        check_one(command, junit, seed, str(tmp_path))
