"""spawn_all / spawn_blocking_all: many runtime jobs awaited as one, under asyncio (and uvloop) and
under trio: values in order, failures rethrown or counted, and the stop tokens that a failure or a
cancellation stops before the task resumes."""
import asyncio

import pytest

import dependencies

import pyasync
import pyasync_examples as ex
from _pyasync_tests import spawn_all as s
from conftest import settle


def test_values_come_back_in_the_order_of_the_jobs(run):
    assert run(s.squares(2000)) == [i * i for i in range(2000)]


def test_a_frame_away_on_the_runtime_awaits_the_jobs_without_the_loop(run):
    assert run(s.sum_of_squares_away(1000)) == sum(i * i for i in range(1000))
    assert ex.pending() == 0


def test_no_jobs_is_an_empty_result(run):
    assert run(s.squares(0)) == []


def test_void_jobs_have_all_run_when_the_task_resumes(run):
    assert run(s.count_void_jobs(500)) == 500


def test_blocking_jobs_run_at_the_same_time_each_on_its_own_thread(run):
    # Each job waits until all four have started: they finish only if they run concurrently.
    assert run(s.blocking_jobs_meet(4)) == (4, 4)


def test_python_values_cross_through_one_wake(run):
    values = ["a", None, 3.5, object()]
    assert run(ex.threaded_ready_all(values)) == values
    assert ex.pending() == 0


@pytest.mark.parametrize("blocking", [False, True], ids=["workers", "blocking pool"])
def test_one_failure_is_rethrown_as_it_was(run, blocking):
    with pytest.raises(ValueError, match="^job 3 failed$"):
        run(s.fail_some(6, {3}, blocking=blocking))
    assert ex.pending() == 0


def test_a_failure_stops_the_other_jobs_before_the_task_resumes(run):
    before = s.jobs_stopped()
    with pytest.raises(ValueError, match="^job 3 failed$"):
        run(s.fail_some(6, {3}))
    # The task resumes only once every job has finished: the five others were stopped by then.
    assert s.jobs_stopped() - before == 5
    assert ex.pending() == 0


def test_several_failures_raise_one_error_that_counts_them_and_shows_the_first(run):
    before = s.jobs_stopped()
    with pytest.raises(RuntimeError) as caught:
        run(s.fail_some(6, {4, 1}))
    assert str(caught.value) == ("2 of 6 jobs failed; the first, job 1, with std::invalid_argument: job 1 failed "
                                 "(each failure is in spawn_all_error::failures())")
    assert s.jobs_stopped() - before == 4


def test_failures_that_are_not_std_exceptions_are_named_by_type(run):
    with pytest.raises(RuntimeError, match=r"^2 of 3 jobs failed; the first, job 0, with int \(not a std::exception\)"):
        run(s.fail_some(3, {0, 2}, throw_int=True))
    with pytest.raises(pyasync.CppError, match=r"C\+\+ exception of type int \(not a std::exception\)"):
        run(s.fail_some(3, {2}, throw_int=True))


def test_cancelling_the_task_resumes_it_at_once_and_stops_every_job(run):
    before = s.jobs_stopped()
    report = []

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(s.wait_until_stopped(8, 30.0, report), 0.05)
        assert report == ["cancelled"]
        # The jobs see their tokens stopped on their threads, a moment after the task resumed.
        assert await settle(lambda: s.jobs_stopped() - before == 8 and ex.pending() == 0)
    run(main())


@dependencies.needs("trio")
class TestUnderTrio:
    trio = dependencies.load("trio")

    def test_ten_thousand_completions_wake_one_trio_task_once(self):
        values = list(range(10_000))
        assert self.trio.run(ex.threaded_ready_all, values) == values
        assert ex.pending() == 0

    def test_a_failure_crosses_into_trio_as_under_asyncio(self):
        with pytest.raises(ValueError, match="^job 0 failed$"):
            self.trio.run(s.fail_some, 2, {0})

    def test_a_cancel_scope_resumes_the_frame_and_stops_every_job(self):
        trio = self.trio
        before = s.jobs_stopped()
        report = []

        async def main():
            with trio.move_on_after(0.05) as scope:
                await s.wait_until_stopped(8, 30.0, report)
            assert scope.cancelled_caught
            deadline = trio.current_time() + 10
            while not (s.jobs_stopped() - before == 8 and ex.pending() == 0) and trio.current_time() < deadline:
                await trio.sleep(0.001)
        trio.run(main)
        assert report == ["cancelled"]
        assert (s.jobs_stopped() - before, ex.pending()) == (8, 0)

    def test_under_anyio_on_trio(self):
        anyio = dependencies.require("anyio")
        assert anyio.run(ex.threaded_ready_all, ["x", "y"], backend="trio") == ["x", "y"]
