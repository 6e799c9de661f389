"""C++ harness cases as pytest items.

A binary is a ``pytest.File`` (``CppBinary``); each case it lists is a ``pytest.Function``
(``CppCase``) named ``Suite.Case``, so ``-k``, ``-m``, ``-x``, ``--junitxml``, autouse fixtures
and pytest-xdist treat it as any test. The case runs in the binary's serving child:

- set-up: the child opens the case's loop and sets its suite up (a failure is an ERROR); once
  the suite is up in that child, its next cases skip this round trip;
- the end of set-up sends ``run``: the child runs the case while pytest reports the set-up
  (``--setup-only`` sends none);
- call: the case's verdict, failure text and output come back (a case whose call never comes,
  skipped by a later set-up hook, is read at tear-down; a failure of it is an ERROR there);
- tear-down (``leave``, from ``pytest_runtest_teardown``, which runs for skipped items too): the
  child tears down every suite it has up but the next item's (a failure is an ERROR of this
  item); after the session's last item, every child is closed.

Tags become markers (registered, so ``--strict-markers`` passes); cases the harness ignores are
skipped with its reason unless ``--pyasync-include-ignored``; each case carries the
``xdist_group`` of its binary for ``--dist loadgroup``."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from pyasync.pytest_plugin._cpp_binaries import Binary, ListingError, list_cases
from pyasync.pytest_plugin._harness_child import CLOSE_SECONDS, ChildError, ChildGone, HarnessChild, Sent
from pyasync.pytest_plugin._state import STATE

# Tags that would change what pytest does with the item if they became markers of that name.
RESERVED_MARKERS = frozenset({"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "pyasync",
                              "asyncio", "xdist_group", "tryfirst", "trylast", "timeout"})


def marker_name(tag: str) -> Optional[str]:
    """The marker a tag becomes: ``[net]`` → ``net``, ``[!mayfail]`` → ``mayfail``, ``[skip]`` →
    ``cpp_skip`` (a name pytest reserves), ``[.]`` (hidden) → none."""
    name = re.sub(r"\W+", "_", tag).strip("_")
    if not name:
        return None
    if name[0].isdigit():
        name = "_" + name
    return "cpp_" + name if name in RESERVED_MARKERS else name


def _cpp_case() -> None:
    """A C++ harness case: it runs in its binary's serving child (see ``CppCase.runtest``)."""


def _is_setup_reply(event: dict) -> bool:
    return event.get("type") == "setup"


def _is_result(event: dict) -> bool:
    return event.get("type") == "test"  # serving sends no "started" event


def _is_teardown_reply(event: dict) -> bool:
    return event.get("type") == "teardown"


class CppBinary(pytest.File):
    """A harness binary; its cases are listed once (``--list --format json``, cached)."""

    def __init__(self, *, binary: Binary, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.binary = binary
        # What every case of the binary has alike, made once (10,000 cases are usual): its
        # xdist group, its fixtures (one closure, shared as pytest shares it between the items
        # of one parametrized function), the Path of each C++ file and its place in reports.
        self.group = pytest.mark.xdist_group(name=self.nodeid)
        self.fixtureinfo = None
        self.paths: Dict[str, Path] = {}
        self.relative_paths: Dict[str, str] = {}

    def collect(self) -> List["CppCase"]:
        state = self.config.stash[STATE]
        try:
            cases = list_cases(self.config, self.binary, state.harness.args)
        except ListingError as error:
            raise self.CollectError(str(error)) from None
        items = []
        for case in cases:
            item = CppCase.from_parent(self, name=case["name"], callobj=_cpp_case, case=case, binary=self.binary,
                                       fixtureinfo=self.fixtureinfo)
            self.fixtureinfo = item._fixtureinfo
            items.append(item)
        return items

    def path_of(self, file: str) -> Path:
        path = self.paths.get(file)
        if path is None:
            path = self.paths[file] = Path(file)
        return path


class CppCase(pytest.Function):
    """One C++ case, ``binary::Suite.Case``."""

    parent: CppBinary

    def __init__(self, *, case: dict, binary: Binary, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.binary = binary
        self.suite = str(case.get("suite", ""))
        tags = case.get("tags")
        if tags:
            state = self.config.stash[STATE]
            for tag in tags:
                name = marker_name(str(tag))
                if name is not None:
                    state.register_tag_marker(self.config, name, str(tag))
                    self.add_marker(name)
        self.add_marker(self.parent.group)
        if case.get("ignored") and not self.config.stash[STATE].settings.cpp.include_ignored:
            reason = case.get("reason") or "no reason given"
            self.add_marker(pytest.mark.skip(reason=f"ignored by the harness: {reason} (--pyasync-include-ignored "
                                                    "runs it)"))
        self.user_properties.extend([("file", str(case.get("file", ""))), ("line", str(case.get("line", "")))])
        self._running: Optional[Tuple[HarnessChild, Sent]] = None  # its `run`, sent at the end of its set-up

    def time_limit(self) -> Optional[float]:
        own = self.case.get("timeout_s")
        return float(own) if own else self.config.stash[STATE].harness_timeout

    def setup(self) -> None:
        super().setup()  # pytest's own fixtures (autouse, usefixtures)
        harness = self.config.stash[STATE].harness
        try:
            child = harness.child_for(self.binary)
            if self.suite not in child.ready_suites:  # else `run` opens the case's loop itself
                try:
                    reply = child.command(f"setup {self.name}", _is_setup_reply, self.time_limit())
                except ChildGone:  # the previous case ended that child: this one starts a fresh one
                    child = harness.child_for(self.binary)
                    reply = child.command(f"setup {self.name}", _is_setup_reply, self.time_limit())
                self._add_output("setup", reply)
                if reply.event.get("event") != "ok":
                    pytest.fail(str(reply.event.get("message") or reply.event), pytrace=False)
                child.ready_suites.add(self.suite)
        except ChildError as error:
            pytest.fail(str(error), pytrace=False)
        if not self.config.getoption("setuponly", False):
            # The set-up is done (fixtures, skip marks, other plugins' set-up hooks): the child
            # runs the case while pytest reports the set-up, and the call reads its answer.
            self._running = (child, child.send(f"run {self.name}", _is_result, self.time_limit()))

    def runtest(self) -> None:
        harness = self.config.stash[STATE].harness
        running, self._running = self._running, None
        try:
            try:
                if running is not None:
                    reply = running[0].receive(running[1])
                else:
                    child = harness.live_child(self.binary)
                    if child is None:
                        pytest.fail(f"{self.binary.path} stopped between the set-up and the call of {self.name}",
                                    pytrace=False)
                    reply = child.command(f"run {self.name}", _is_result, self.time_limit())
            except ChildGone:  # ended by the case before this one: `run` sets the suite up itself
                reply = harness.child_for(self.binary).command(f"run {self.name}", _is_result, self.time_limit())
        except ChildError as error:
            failure = f"{self.name} {'timed out' if error.timed_out else 'crashed'}: {error}"
        else:
            self._add_output("call", reply)
            failure = self._verdict(reply.event)
        if failure is not None:
            pytest.fail(failure, pytrace=False)

    def _settle_uncalled_run(self) -> List[str]:
        """The answer of a case started at the end of its set-up whose call never came (a later
        set-up hook failed or skipped it): it is shown, and a failure of it fails the tear-down."""
        running, self._running = self._running, None
        if running is None:
            return []
        started = "it had started at the end of its set-up, and pytest did not call it"
        try:
            reply = running[0].receive(running[1])
        except ChildGone:
            return []  # the child had ended before reading it: it never ran
        except ChildError as error:
            return [f"{self.name}: {started}; then {error}"]
        self._add_output("teardown", reply)
        verdict = reply.event.get("event")
        if verdict in ("ok", "skipped", "ignored"):
            self.add_report_section("teardown", "harness", f"{self.name}: {started}; its verdict: {verdict}")
            return []
        return [f"{self.name}: {started}; it failed:\n{reply.event.get('message', '')}".rstrip()]

    def _verdict(self, result: dict) -> Optional[str]:
        """None for a pass; raises Skipped for a skip; else the failure's text."""
        verdict = result.get("event")
        if verdict == "ok":
            return None
        if verdict in ("skipped", "ignored"):
            pytest.skip(str(result.get("message") or "skipped by the case"))
        file, line = self.case.get("file", ""), self.case.get("line", "")
        return f"{file}:{line}: {self.name} failed\n{result.get('message', '')}".rstrip()

    def _add_output(self, when: str, reply) -> None:
        """What the case printed (stdout and stderr: serving does not capture) and the harness's
        notes, as sections of the report."""
        if reply.output:
            self.add_report_section(when, "output", reply.output)
        notes = reply.notes()
        if notes:
            self.add_report_section(when, "harness", "\n".join(notes))

    def leave(self, following: Optional[pytest.Item]) -> None:
        """After this item's tear-down (also when it was skipped before its set-up): tears down
        the suites the next item does not need, and after the last item closes every child."""
        state = self.config.stash[STATE]
        errors = self._settle_uncalled_run()
        child = state.harness.live_child(self.binary)
        if child is not None:
            staying = following.suite if isinstance(following, CppCase) and following.binary == self.binary else None
            for suite in sorted((child.ready_suites | {self.suite}) - {staying}):
                child.ready_suites.discard(suite)
                try:
                    reply = child.command(f"teardown {suite}", _is_teardown_reply, CLOSE_SECONDS)
                except ChildGone:
                    break  # it tore its suites down when it closed
                except ChildError as error:
                    errors.append(str(error))
                    break
                self._add_output("teardown", reply)
                if reply.event.get("event") != "ok":
                    errors.append(f"suite tear-down failed ({suite}):\n{reply.event.get('message', '')}")
        if following is None:
            errors += state.harness.close_all()
        if errors:
            pytest.fail("\n".join(errors), pytrace=False)

    def reportinfo(self) -> Tuple[Path, int, str]:
        """The C++ file and line. The domain (failure headings) names the case and where it is;
        it must not end the node id, or ``-v`` would print ``Suite::Case``, which selects nothing."""
        file = self.case.get("file")
        if file:
            line = int(self.case.get("line") or 1)
            path = self.parent.path_of(file)
            return path, max(line - 1, 0), f"{self.name} ({path.name}:{line})"
        return self.binary.path, 0, f"{self.name} ({self.binary.path.name})"

    @functools.cached_property
    def location(self) -> Tuple[str, Optional[int], str]:
        """pytest's location, with the file made relative once per C++ file of the binary."""
        path, line, domain = self.reportinfo()
        relative = self.parent.relative_paths.get(str(path))
        if relative is None:
            relative = self.parent.relative_paths[str(path)] = super().location[0]
        return relative, line, domain
