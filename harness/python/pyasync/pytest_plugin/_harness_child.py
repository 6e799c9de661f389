"""One harness binary serving a pytest process: the child started with ``--serve``, the protocol
it speaks (a command line in, JSON event lines out; see harness/src/serving.cpp) and what ends it.

The child runs in a session of its own, so a terminal's Ctrl-C reaches pytest alone, which then
kills it; the harness also asks the kernel to kill it should pytest die first."""
from __future__ import annotations

import dataclasses
import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

STARTUP_SECONDS = 120.0  # interpreter, imports and global fixtures
CLOSE_SECONDS = 30.0  # tearing down suites and global fixtures at the end
STDERR_TAIL_LINES = 100


EXIT_SECONDS = 5.0  # how long a child that closed its event pipe has to exit before it is killed


class ChildError(Exception):
    """The child did not answer: it could not start, died (a signal's name says which), timed
    out (``timed_out``) or answered out of step. The message says which, with the tail of its
    stderr."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ChildGone(ChildError):
    """The child ended before it read the command (a case before it broke the loop or stopped
    it, and the child said so when it closed): the command is not failed, it is sent again to a
    fresh child."""


def describe_status(returncode: Optional[int]) -> str:
    if returncode is None:
        return "was still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def describe_late_failure(path: str, event: dict) -> str:
    after = event.get("after")
    return (f"{path}: a failure outside any running case"
            f"{f' (after the end of {after})' if after else ''}:\n{event.get('message', '')}".rstrip())


@dataclasses.dataclass
class Reply:
    """What a command got back: the event that answers it, the events before it (notes), and
    what the child wrote to stderr meanwhile (the case's own output: serving does not capture)."""

    event: dict
    before: List[dict]
    output: str

    def notes(self) -> List[str]:
        return [str(event.get("text", "")) for event in self.before if event.get("type") == "note"]


@dataclasses.dataclass(frozen=True)
class Sent:
    """A command sent and not yet answered: its line, its number, when it was sent, what
    answers it and within how long of then (None: no limit)."""

    line: str
    seq: int
    at: float
    done: Callable[[dict], bool]
    limit: Optional[float]


class HarnessChild:
    """A running ``BINARY --serve``. Main thread only."""

    def __init__(self, path: str, args: Sequence[str], environment: Dict[str, str], reply_margin: float) -> None:
        """``reply_margin``: how long a reply may take beyond a case's own time limit. The harness
        enforces the limit itself (it cancels an async case; its watchdog aborts a sync one, or
        an async one that blocks the loop past the grace period, with the stacks) and answers."""
        self.path = path
        self.reply_margin = reply_margin
        # The child appends to its stderr file through a descriptor of its own: reading ours
        # (seeking) must not move where it writes.
        descriptor, name = tempfile.mkstemp(prefix="pyasync-serve-", suffix=".stderr")
        os.close(descriptor)
        self._stderr = open(name, "rb")
        try:
            with open(name, "ab") as child_stderr:
                self._process = subprocess.Popen([path, "--serve", *args], stdin=subprocess.PIPE,
                                                 stdout=subprocess.PIPE, stderr=child_stderr, env=environment,
                                                 start_new_session=True)
        except BaseException:
            self._stderr.close()
            raise
        finally:
            os.unlink(name)
        self._buffer = b""
        self._seq = 0  # the number of the last command sent: the child numbers its replies alike
        self.in_flight: Optional[Sent] = None  # the command sent whose answer is still unread
        self.unclaimed: List[str] = []  # answers no item read (settle_in_flight): they fail the session
        self.ready_suites: Set[str] = set()  # suites set up in this child (its `run` needs no `setup`)
        # Failures outside any running case (a callback an earlier case left behind), each as the
        # child described it: they fail the session, never the item that was running.
        self.late_failures: List[str] = []
        self._stderr_read = 0  # how much of the stderr file earlier replies took as output
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._process.stdout, selectors.EVENT_READ)
        # What start-up prints stays in the file: the first set-up's report shows it.
        ready = self._read_reply(lambda event: event.get("type") == "serve", STARTUP_SECONDS, "starting").event
        if ready.get("event") != "ready":
            tail = self._end()
            raise ChildError(f"{self.path} could not start serving: {ready.get('message', ready)}{tail}")

    def alive(self) -> bool:
        return self._process.poll() is None

    def command(self, line: str, done, limit: Optional[float]) -> Reply:
        """Sends ``line`` and reads events until ``done(event)`` for an event that answers this
        command (its ``seq``). Raises ChildGone if the child had ended before reading it, and
        ChildError (the child is then dead) if it dies, overruns ``limit`` or answers out of step."""
        return self.receive(self.send(line, done, limit))

    def send(self, line: str, done, limit: Optional[float]) -> Sent:
        """Sends ``line`` without waiting (see ``command``): its answer is read by ``receive``
        (the child answers in order, one command at a time). A command still unanswered is
        settled first (``settle_in_flight``)."""
        if self.in_flight is not None:
            self.settle_in_flight()
        self._seq += 1
        try:
            self._process.stdin.write(line.encode() + b"\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: reading says how
        self.in_flight = Sent(line, self._seq, time.monotonic(), done, limit)
        return self.in_flight

    def receive(self, sent: Sent) -> Reply:
        """The answer to ``sent`` (see ``command``); its limit counts from when it was sent."""
        if sent is not self.in_flight:
            raise RuntimeError(f"pyasync: the answer to '{sent.line}' was read from {self.path} twice or out of "
                               "order (a bug in pyasync)")
        self.in_flight = None
        what = f"answering '{sent.line}'"
        timeout = None if sent.limit is None else sent.limit + self.reply_margin
        reply = self._read_reply(self._answers(sent), timeout, what, sent.at)
        reply.output = self._take_output()
        return reply

    def settle_in_flight(self) -> None:
        """Reads the answer of a command nobody read (a case started at the end of its set-up
        whose call and tear-down never came: the session stopped, or a hook failed first) and
        keeps it in ``unclaimed``, which fails the session: never a verdict dropped."""
        sent = self.in_flight
        if sent is None:
            return
        told = f"{self.path}: '{sent.line}' was sent, and its item never read the answer (the session stopped first)"
        try:
            event = self.receive(sent).event
        except ChildGone:
            return  # the child had ended before reading it: it never ran
        except ChildError as error:
            self.unclaimed.append(f"{told}; {error}")
            return
        message = str(event.get("message") or "")
        self.unclaimed.append(f"{told}; it answered {event.get('event')}" + (f":\n{message}" if message else ""))

    def _answers(self, sent: Sent):
        """``done``, checked against the command in flight: an answer to another command, or the
        child's closing event in the middle of this one, ends the child with the reason."""
        seq, line, done = sent.seq, sent.line, sent.done

        def answers(event: dict) -> bool:
            if event.get("type") == "serve" and event.get("event") == "finished":
                last = event.get("last_seq")
                tail = self._end()
                if isinstance(last, int) and last < seq:
                    raise ChildGone(f"{self.path} had ended before it read '{line}' ({self._why_it_ended(event)})")
                raise ChildError(f"{self.path} stopped while answering '{line}' without answering it "
                                 f"({self._why_it_ended(event)}){tail}")
            if not done(event):
                return False
            if event.get("seq") != seq:
                tail = self._end()
                raise ChildError(f"{self.path} answered command {event.get('seq')} while command {seq} ('{line}') "
                                 f"was in flight: out of step, it was stopped; the answer was {event}{tail}")
            return True

        return answers

    @staticmethod
    def _why_it_ended(event: dict) -> str:
        if event.get("exited"):
            return str(event["exited"])
        if event.get("loop_failure"):
            return f"its event loop failed: {event['loop_failure']}"
        if event.get("interrupted"):
            return "it was interrupted by a stop signal"
        return "it closed"

    def close(self, timeout: float = CLOSE_SECONDS) -> Tuple[Optional[Reply], str]:
        """Ends the input and waits for the child's closing event (suites and global fixtures torn
        down). Returns it (None if the child did not send it) and, when the child failed or had
        to be killed, why."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            finished = self._read_reply(lambda event: event.get("type") == "serve", timeout, "closing")
        except ChildError as error:
            return None, str(error)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return finished, f"{self.path} did not exit within {timeout:g} s of its last event; it was killed"
        self._release()
        return finished, ""

    def kill(self) -> None:
        """Kills the child and anything it started (its session), and reaps it."""
        self._end()

    def _end(self) -> str:
        """Kills and reaps the child, closes its streams; returns the tail of its stderr."""
        if self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._process.kill()
        self._process.wait()
        tail = self._stderr_tail()
        self._release()
        return tail

    def _release(self) -> None:
        self._selector.close()
        for stream in (self._process.stdin, self._process.stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass

    def _read_reply(self, done, timeout: Optional[float], what: str, since: Optional[float] = None) -> Reply:
        """The events up to ``done``, within ``timeout`` of ``since`` (by default, now)."""
        try:
            return self._wait_for(done, timeout, what, time.monotonic() if since is None else since)
        except ChildError:
            raise
        except BaseException:
            self.kill()  # Ctrl-C while it works: its answer can no longer be read in step
            raise

    def _wait_for(self, done, timeout: Optional[float], what: str, since: float) -> Reply:
        deadline = None if timeout is None else since + timeout
        before: List[dict] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1:]
                try:
                    event = json.loads(line)
                except ValueError:
                    event = {"type": "note", "text": f"not an event: {line.decode(errors='replace')}"}
                if not isinstance(event, dict):
                    event = {"type": "note", "text": f"not an event: {line.decode(errors='replace')}"}
                if event.get("type") == "late_failure":
                    self.late_failures.append(describe_late_failure(self.path, event))
                    continue
                if done(event):
                    return Reply(event, before, "")
                if event.get("type") == "serve" and event.get("event") == "error":
                    tail = self._end()  # it refused a command: this side and it are out of step
                    raise ChildError(f"{self.path} refused a command while {what}: {event.get('message')}{tail}")
                before.append(event)
                continue
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                tail = self._end()
                raise ChildError(f"{self.path} was still {what} after {timeout:g} s; it was killed{tail}",
                                 timed_out=True)
            if remaining is not None and not self._selector.select(remaining):
                continue  # without a deadline, the read below waits
            chunk = os.read(self._process.stdout.fileno(), 65536)
            if not chunk:
                # End of file: a child that closed its event pipe (a case closed the descriptor)
                # but lives on waits for a command it can never answer. Bounded, then killed.
                try:
                    self._process.wait(timeout=EXIT_SECONDS)
                except subprocess.TimeoutExpired:
                    tail = self._end()
                    raise ChildError(f"{self.path} closed its event pipe while {what} but did not exit within "
                                     f"{EXIT_SECONDS:g} s; it was killed{tail}") from None
                status = describe_status(self._process.returncode)
                tail = self._end()
                raise ChildError(f"{self.path} {status} while {what}{tail}")
            self._buffer += chunk

    def _take_output(self) -> str:
        self._stderr.seek(self._stderr_read)
        output = self._stderr.read()
        self._stderr_read += len(output)
        return output.decode(errors="replace")

    def _stderr_tail(self) -> str:
        """What the child wrote to stderr since the last reply (the case's output, a sanitizer's
        report, a stack dump), its last lines."""
        if self._stderr.closed:
            return ""
        lines = self._take_output().splitlines()
        if not lines:
            return ""
        tail = lines[-STDERR_TAIL_LINES:]
        heading = f"its stderr (last {len(tail)} of {len(lines)} lines)" if len(lines) > len(tail) else "its stderr"
        return "\n---- " + heading + " ----\n" + "\n".join(tail)
