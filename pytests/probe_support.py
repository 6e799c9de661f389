"""Helpers of the tests that drive a probe binary from outside (test_harness_verdicts.py,
test_trust_edges.py): run it without the caller's harness variables, list its cases, read the
verdicts of its JSON events. In the probes, suites named Sentinel* must pass and the others fail."""
import json
import os
import subprocess

OWN_VARIABLES = ("PYASYNC_TEST_", "TEST_", "GTEST_")


def run_binary(binary, *args, timeout=120):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    return subprocess.run([binary, *args], capture_output=True, text=True, errors="replace", env=environment,
                          timeout=timeout)


def listed(binary):
    """Its cases' names, in declaration order (the listing starts no interpreter)."""
    return [case["name"] for case in json.loads(run_binary(binary, "--list", "--format", "json").stdout)["cases"]]


def must_fail(name):
    return not name.startswith("Sentinel.")


def finished_events(stdout):
    """(name, verdict) of each finished case of a JSON event stream, in order."""
    events = (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
    return [(e["name"], e["event"]) for e in events if e.get("type") == "test" and e["event"] != "started"]
