"""task<T>: lazy, results of every kind, nesting without Python, exceptions through chains."""
import asyncio
import re

import pytest
from _pyasync_tests import task as t


def test_calling_a_coroutine_function_runs_nothing_until_awaited(run):
    before = t.started()
    coroutine = t.leaf(5)
    assert t.started() == before
    assert run(coroutine) == 5
    assert t.started() == before + 1


def test_task_void_gives_none(run):
    assert run(t.nothing()) is None


def test_task_reference_result_is_converted_by_value(run):
    before = t.shared_value()
    assert run(t.add_through_reference()) == before + 1
    assert t.shared_value() == before + 1


def test_a_deep_chain_of_awaited_tasks_completes(run):
    # NOTE: GCC 12 turns symmetric transfer into a tail call only when optimising; the Debug
    # build recurses, so the depth stays well inside the default stack.
    assert run(t.chain(5_000)) == 5_000


def test_chain_after_a_suspension_resumes_on_the_loop(run):
    assert run(t.suspends_then_chain(1000)) == 1000


def test_exception_travels_through_the_task_chain_and_keeps_the_innermost_origin(run):
    with pytest.raises(IndexError, match="deep failure") as info:
        run(t.thrower(5))
    notes = info.value.__notes__
    assert len(notes) == 1
    assert "thrower" in notes[0] and "test_task.cpp" in notes[0]


def test_a_child_exception_awaited_through_a_parent_names_the_child(run):
    with pytest.raises(IndexError, match="deep failure") as info:
        run(t.rethrows_child())
    (note,) = info.value.__notes__
    assert re.fullmatch(r"raised in C\+\+ coroutine thrower at \S*test_task\.cpp:\d+", note), note


def test_an_exception_a_parent_raises_after_catching_its_childs_names_the_parent(run):
    with pytest.raises(ValueError, match="replaced") as info:
        run(t.replaces_child_error())
    (note,) = info.value.__notes__
    assert re.fullmatch(r"raised in C\+\+ coroutine replaces_child_error at \S*test_task\.cpp:\d+", note), note


def test_a_parent_task_can_catch_a_child_exception(run):
    assert run(t.catches_child()) == "caught: deep failure"


def test_frames_are_destroyed_after_completion_error_and_close(run):
    before = t.live_frames()
    run(t.chain(50))
    with pytest.raises(IndexError):
        run(t.thrower(3))
    coroutine = t.chain(3)
    coroutine.close()
    assert t.live_frames() == before


def test_m_def_returning_a_task_is_a_coroutine_function_through_the_type_caster(run):
    coroutine = t.leaf_via_mdef(9)
    assert asyncio.iscoroutine(coroutine)
    assert coroutine.__name__ == "leaf"
    assert run(coroutine) == 9


def test_a_python_awaitable_converts_to_a_task_argument(run):
    async def seven():
        await asyncio.sleep(0)
        return 7

    assert run(t.takes_task(seven())) == 7


def test_frames_of_every_size_keep_their_contents_across_threads(run):
    # Frames come from per-thread lists by size class; made on the loop and freed on a worker
    # (and back), of every class and beyond them, none is reused while in use.
    rounds = 60
    assert run(t.frames_across_threads(rounds)) == 6 * rounds
