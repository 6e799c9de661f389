"""Schedule exploration of async tests (``--pyasync-schedule``, ``--pyasync-schedule-seed``,
``--pyasync-schedule-runs``, their ini twins, and the marker's ``schedule=``, ``schedule_seed=``,
``schedule_runs=``): a test runs K times, set-up, call and tear-down each time, each run under a
seeded schedule of the runtime's work and timers (the harness's ``--schedule``; see
``pyasync/detail/schedule.hpp``). The first failing run is the test's report, with the seed that
replays it; a test whose every run passes reports its last run.

Function-scoped fixtures are made afresh for each run; fixtures of wider scopes are shared by the
runs, as by consecutive tests. The run is bound to the loop of the test's first async phase: work
started from another loop (``asyncio.run`` inside a sync fixture) is not explored. Under trio the
choices are trio's scheduler's, seeded per run."""
from __future__ import annotations

import dataclasses
import random
from typing import Any, List, Optional

import pytest
from _pytest.runner import CallInfo, runtestprotocol

from pyasync import _core

# The harness's own (pyasync/detail/schedule.hpp), so the three front ends agree.
STRATEGIES = tuple(_core.SCHEDULE_STRATEGIES)
MOST_RUNS = _core.MOST_SCHEDULE_RUNS
DEFAULT_RUNS = _core.DEFAULT_SCHEDULE_RUNS
LARGEST_SEED = 2 ** 64 - 1


@dataclasses.dataclass(frozen=True)
class Exploration:
    strategy: str
    seed: int
    runs: int


# The run in progress: SharedLoop.run binds it to the loop of the first async phase.
active: Optional[Any] = None


def _strategy(value: Any, where: str) -> str:
    if value not in STRATEGIES:
        raise pytest.UsageError(f"pyasync: {where} must be one of {', '.join(STRATEGIES)}; got {value!r}")
    return str(value)


def _whole(value: Any, where: str, low: int, high: int, what: str) -> int:
    try:
        number = int(str(value), 10)
    except ValueError:
        number = low - 1
    if isinstance(value, bool) or not low <= number <= high:
        raise pytest.UsageError(f"pyasync: {where} must be {what} from {low} to {high}; got {value!r}")
    return number


def resolve(strategy: Any, seed: Any, runs: Any, where: str) -> Optional[Exploration]:
    """The exploration the three values ask for (None, or "" from an ini, when unset), with the
    harness's defaults: random; 100 runs, or 1 when a seed alone replays a run; a random seed."""
    given = [value not in (None, "") for value in (strategy, seed, runs)]
    if not any(given):
        return None
    chosen_seed = _whole(seed, f"schedule_seed of {where}", 0, LARGEST_SEED, "a seed") if given[1] \
        else random.getrandbits(63)
    chosen_runs = _whole(runs, f"schedule_runs of {where}", 1, MOST_RUNS, "a whole number of runs") if given[2] \
        else (1 if given[1] else DEFAULT_RUNS)
    return Exploration(_strategy(strategy, f"schedule of {where}") if given[0] else "random", chosen_seed,
                       chosen_runs)


def harness_arguments(exploration: Optional[Exploration]) -> tuple:
    """The same exploration for the C++ items' serving children."""
    if exploration is None:
        return ()
    return ("--schedule", exploration.strategy, "--schedule-seed", str(exploration.seed), "--schedule-runs",
            str(exploration.runs))


def for_item(session: Optional[Exploration], item: pytest.Item) -> Optional[Exploration]:
    """The session's exploration, or the marker's, which wins argument by argument."""
    marker = item.get_closest_marker("pyasync")
    keys = ("schedule", "schedule_seed", "schedule_runs")
    if marker is None or not any(key in marker.kwargs for key in keys):
        return session
    base = dataclasses.asdict(session) if session is not None else {}
    # A seed given alone on the marker replays: its run count defaults to 1 whatever the session's.
    runs = marker.kwargs.get("schedule_runs", None if "schedule_seed" in marker.kwargs else base.get("runs"))
    return resolve(marker.kwargs.get("schedule", base.get("strategy")), marker.kwargs.get("schedule_seed",
                   base.get("seed")), runs, f"@pytest.mark.pyasync of {item.nodeid}")


def _describe(exploration: Exploration, index: int, seed: int, run: Any, under_trio: bool) -> str:
    text = (f"failed in schedule run {index + 1} of {exploration.runs} ({exploration.strategy}, seed {seed}); "
            f"replay it with: @pytest.mark.pyasync(schedule={exploration.strategy!r}, schedule_seed={seed}) or "
            f"--pyasync-schedule {exploration.strategy} --pyasync-schedule-seed {seed}\n")
    if under_trio:
        text += _core.TRIO_SCHEDULE_NOTE + "\n"
    else:
        text += f"{run.departures} of the run's {run.decisions} scheduling choices departed from the usual order"
        trace = run.trace()
        text += ":\n" + "".join(f"  {line}\n" for line in trace.splitlines()) if trace else "\n"
    error = run.error()
    return text + (f"{error}\n" if error else "")


def run_protocol(item: pytest.Item, nextitem: Optional[pytest.Item], exploration: Exploration,
                 under_trio: bool) -> None:
    """The test's runs, each a whole set-up, call and tear-down; reports the failing run or the last.
    Under trio each run seeds trio's own scheduler (the runtime's work keeps its real threads)."""
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    try:
        _run_each(item, nextitem, exploration, under_trio)
    finally:
        if under_trio:
            _core._seed_trio_scheduler(None)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def _run_each(item: pytest.Item, nextitem: Optional[pytest.Item], exploration: Exploration, under_trio: bool) -> None:
    global active
    for index in range(exploration.runs):
        seed = _core.schedule_run_seed(exploration.seed, index)
        last = index == exploration.runs - 1
        # Between runs only the test's own node is torn down: its function fixtures are made
        # afresh, the wider ones stay (the parent is what the next "item" descends from).
        upto = nextitem if last else item.parent
        run = _core.ScheduleRun(exploration.strategy, seed)
        if under_trio:
            _core._seed_trio_scheduler(seed)
        active = run
        try:
            reports: List[pytest.TestReport] = runtestprotocol(item, nextitem=upto, log=False)  # type: ignore
        finally:
            active = None
            run.close()
        failed = [report for report in reports if report.failed]
        if run.error() is not None and not failed:
            failed = [report for report in reports if report.when == "call"] or reports[-1:]
            for report in failed:  # the run could not be explored faithfully: said as the failure
                report.outcome = "failed"
                report.longrepr = f"pyasync: schedule run {index + 1}: {run.error()}"
        if failed:
            failed[0].sections.append(("pyasync schedule", _describe(exploration, index, seed, run, under_trio)))
        if failed or last or any(report.skipped for report in reports):
            if not last:
                # The runs stop early: what the next item does not need is torn down now, as the
                # last run's tear-down would have (a failure there is reported with the test's).
                setup_state = item.session._setupstate  # type: ignore[attr-defined]
                rest = CallInfo.from_call(lambda: setup_state.teardown_exact(nextitem), when="teardown")
                if rest.excinfo is not None:
                    reports.append(item.ihook.pytest_runtest_makereport(item=item, call=rest))
            for report in reports:
                item.ihook.pytest_runtest_logreport(report=report)
            break


class ProtocolPlugin:
    """Runs an explored async test once per schedule (registered by the plugin's pytest_configure)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Optional[bool]:
        from pyasync.pytest_plugin._state import OWNED, STATE

        if not item.stash.get(OWNED, False):
            return None
        state = item.config.stash[STATE]
        exploration = for_item(state.settings.exploration, item)
        if exploration is None:
            return None
        run_protocol(item, nextitem, exploration, under_trio=state.test_settings(item).loop.name == "trio")
        return True
