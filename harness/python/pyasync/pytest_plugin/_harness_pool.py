"""The serving children of one pytest process: one per harness binary, started when its first
case runs, restarted after a crash or a hang, closed at the end (or killed, after ``-x`` or
Ctrl-C). Under pytest-xdist each worker has its own pool and runs only the cases it was given."""
from __future__ import annotations

from typing import Dict, List, Sequence

from pyasync.pytest_plugin._cpp_binaries import Binary
from pyasync.pytest_plugin._harness_child import ChildError, HarnessChild


class HarnessPool:
    def __init__(self, args: Sequence[str], reply_margin: float) -> None:
        self.args = tuple(args)
        self.reply_margin = reply_margin
        self.children: Dict[str, HarnessChild] = {}
        self.startup_failures: Dict[str, str] = {}
        # Failures outside any running case, from every child this pool ran, gathered as each
        # child ends: the session fails with them (pytest_sessionfinish), no item does.
        self.late_failures: List[str] = []

    def child_for(self, binary: Binary) -> HarnessChild:
        """The live child of ``binary``, started if needed. Raises ChildError when it cannot
        start; the failure is kept (its global fixture failed) and raised for each later case."""
        key = str(binary.path)
        if key in self.startup_failures:
            raise ChildError(self.startup_failures[key])
        child = self.children.get(key)
        if child is not None and child.alive():
            return child
        if child is not None:
            self._kill(child)  # reap what died between commands
        try:
            child = HarnessChild(key, self.args, binary.child_environment(), self.reply_margin)
        except (ChildError, OSError) as error:
            message = str(error) if isinstance(error, ChildError) else f"{key} cannot be started: {error}"
            self.startup_failures[key] = message
            raise ChildError(message) from None
        self.children[key] = child
        return child

    def live_child(self, binary: Binary):
        child = self.children.get(str(binary.path))
        return child if child is not None and child.alive() else None

    def close_all(self) -> List[str]:
        """Closes every child (its suites and global fixtures torn down); returns what failed.
        The failures outside any running case they reported are kept in ``late_failures``."""
        errors = []
        for key, child in list(self.children.items()):
            del self.children[key]
            child.settle_in_flight()
            errors += child.unclaimed
            child.unclaimed.clear()
            if not child.alive():
                self._kill(child)
                continue
            finished, why = child.close()
            self.late_failures += child.late_failures
            if why:
                errors.append(why)
                continue
            event = finished.event
            if event.get("event") != "finished":
                errors.append(f"{key} ended without its closing event: {event}")
            if event.get("errors"):
                errors.append(f"{key}: tearing down at the end failed:\n{event['errors']}")
            if event.get("loop_failure"):
                errors.append(f"{key}: {event['loop_failure']}")
        return errors

    def kill_all(self) -> None:
        for child in self.children.values():
            self._kill(child)
        self.children.clear()

    def _kill(self, child: HarnessChild) -> None:
        """Kills ``child``, keeping the failures outside any running case it reported and the
        answers no item read."""
        if child.in_flight is not None and not child.alive():
            child.settle_in_flight()  # what a dead child wrote before it died is still in the pipe
        child.kill()
        self.late_failures += child.late_failures + child.unclaimed

