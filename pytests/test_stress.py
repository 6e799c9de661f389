"""The runtime stress (pytests/stress_runtime.py) at CI size, on asyncio and uvloop: every
operation ends exactly once, pending() returns to 0, no loop error and no unraisable exception."""
import os

import pytest

from stress_runtime import KINDS, stress
from conftest import loop_factory

# Sanitized builds run 10x slower: a smaller count still mixes every kind and cancellation.
COUNT = 2_000 if os.environ.get("PYASYNC_SANITIZED") else 20_000


@pytest.mark.parametrize("seed", [1, 2])
def test_concurrent_operations_with_random_cancellations_end_exactly_once(loop_name, seed):
    tally = stress(COUNT, seed, loop_factory(loop_name))
    assert tally.problems == []
    assert sum(tally.ends) == COUNT
    outcomes = {outcome for (_, outcome) in tally.outcomes}
    assert outcomes == {"completed", "cancelled", "planned error"}
    assert {kind for (kind, _) in tally.outcomes} == set(KINDS)
    assert tally.python_cancelled_by_cxx > 0  # C++ cancelled Python awaitables too
