// Leftover tasks, never-awaited coroutines and suspension chains, read through small Python
// helpers (asyncio's and warnings' own APIs are the reliable way to see them).
#include "case_hygiene.hpp"

#include <pybind11/eval.h>

namespace pyasync::testing::detail {
namespace {

/// Python helpers: where a Task is suspended, the tasks a case left behind, and the coroutines
/// it never awaited.
constexpr const char *python_helpers = R"(
def describe_suspension(task, label):
    lines = [f'  {label}']
    awaitable = task.get_coro().cr_await
    for _ in range(64):
        if awaitable is None:
            break
        frame = getattr(awaitable, 'cr_frame', None) or getattr(awaitable, 'gi_frame', None)
        name = getattr(awaitable, '__qualname__', None) or type(awaitable).__name__
        if frame is not None:
            lines.append(f'  {name} at {frame.f_code.co_filename}:{frame.f_lineno}')
        elif hasattr(awaitable, 'cr_await') or hasattr(awaitable, 'gi_yieldfrom'):
            lines.append(f'  {name} (C++ coroutine)' if type(awaitable).__module__ == 'pyasync' else f'  {name}')
        else:
            lines.append(f'  {awaitable!r}')
            break
        following = getattr(awaitable, 'cr_await', None)
        if following is None:
            following = getattr(awaitable, 'gi_yieldfrom', None)
        awaitable = following
    return '\n'.join(lines) if lines else '  (not started)'

def leftover_tasks(loop, keep):
    import asyncio
    return [t for t in asyncio.all_tasks(loop) if t not in keep and not t.done()]

def task_registry():
    # asyncio's WeakSet of every Task (3.11: asyncio.tasks._all_tasks): its set of references
    # and its pending removals, or None where asyncio keeps Tasks otherwise.
    import asyncio
    registry = getattr(asyncio.tasks, '_all_tasks', None)
    references = getattr(registry, 'data', None)
    pending = getattr(registry, '_pending_removals', None)
    if isinstance(references, set) and isinstance(pending, list):
        return references, pending
    return None

class UnawaitedCoroutines:
    # Every "coroutine ... was never awaited" RuntimeWarning (Python's and pyasync's) passes
    # through warnings._showwarnmsg: record it, then show it as usual. The filter, appended so a
    # user's own filters still win, shows each one, not only the first per source line.
    def __init__(self):
        import warnings
        self.warnings = warnings
        self.seen = []
        warnings.filterwarnings('always', message=r'coroutine .* was never awaited', category=RuntimeWarning,
                                append=True)
        self.original = warnings._showwarnmsg
        def record(message):
            if issubclass(message.category, RuntimeWarning) and 'was never awaited' in str(message.message):
                self.seen.append(f'{message.message} (reported at {message.filename}:{message.lineno})')
            return self.original(message)
        warnings._showwarnmsg = record

    def since(self, mark, collect):
        if collect:
            import gc
            gc.collect()  # coroutines kept alive only by a reference cycle
        return self.seen[mark:]

    def uninstall(self):
        self.warnings._showwarnmsg = self.original
)";

/// True when every Task asyncio has registered is one of `keep` (a tuple of distinct Tasks), so
/// none can be left over: read in C from the registry's own set (`references`, `pending`), where
/// all_tasks() copies it in Python (a fifth of a trivial case's Python time). False when unsure.
bool only_known_tasks(PyObject *references, PyObject *pending, PyObject *keep) {
    const Py_ssize_t registered = PySet_GET_SIZE(references) - PyList_GET_SIZE(pending);
    if (registered > PyTuple_GET_SIZE(keep)) {
        return false;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keep); ++i) {
        // A plain reference compares and hashes as its referent: it finds the registry's entry.
        PyObject *reference = PyWeakref_NewRef(PyTuple_GET_ITEM(keep, i), nullptr);
        const int found = reference != nullptr ? PySet_Contains(references, reference) : -1;
        Py_XDECREF(reference);
        if (found != 1) {
            PyErr_Clear();
            return false;
        }
    }
    return true;
}

} // namespace

std::string failure_location(const case_result &result) {
    return result.info->file + ":" + std::to_string(result.info->line) + ": Failure\n  ";
}

case_hygiene::case_hygiene(const options &opts, reporter &report) : opts_(opts), report_(report) {
    py::exec(python_helpers, helpers_);
    unawaited_ = helpers_["UnawaitedCoroutines"]();
    unawaited_seen_ = unawaited_.attr("seen");
    py::object registry = helpers_["task_registry"]();
    if (!registry.is_none()) {
        registered_tasks_ = registry[py::int_(0)];
        pending_removals_ = registry[py::int_(1)];
    }
}

case_hygiene::~case_hygiene() {
    try {
        unawaited_.attr("uninstall")();
    } catch (py::error_already_set &error) {
        std::fprintf(stderr, "pyasync-test: restoring warnings._showwarnmsg failed: %s\n",
                     python_traceback(error).c_str());
    }
}

std::size_t case_hygiene::unawaited_mark() const {
    return static_cast<std::size_t>(PyList_GET_SIZE(unawaited_seen_.ptr()));
}

void case_hygiene::judge(case_result &result, const std::string &message) {
    if (opts_.strict_tasks) {
        // The location line names the flag that made this a failure.
        result.fail(result.info->file + ":" + std::to_string(result.info->line) + ": Failure (--strict-tasks)\n  " +
                    message);
    } else {
        report_.note("warning: " + result.info->full_name() + ": " + message +
                     " (--strict-tasks makes this a failure)");
    }
}

void case_hygiene::check_unawaited_coroutines(case_result &result, std::size_t mark) {
    if (opts_.test_threads != 1) {
        return;
    }
    // Nothing new was recorded: only --strict-tasks still looks (a collection finds coroutines
    // kept alive by a cycle, whose warning comes only then).
    if (!opts_.strict_tasks && unawaited_mark() == mark) {
        return;
    }
    py::list found = unawaited_.attr("since")(mark, opts_.strict_tasks);
    if (py::len(found) == 0) {
        return;
    }
    std::string list;
    for (py::handle warning : found) {
        list += "\n  " + warning.cast<std::string>();
    }
    judge(result, std::to_string(py::len(found)) + " coroutine(s) never awaited:" + list);
}

void case_hygiene::check_leftover_tasks(case_result &result, py::handle loop, py::handle keep) {
    if (registered_tasks_ && PyTuple_Check(keep.ptr()) &&
        only_known_tasks(registered_tasks_.ptr(), pending_removals_.ptr(), keep.ptr())) {
        return;
    }
    py::list leftovers = helpers_["leftover_tasks"](loop, keep);
    if (py::len(leftovers) == 0) {
        return;
    }
    std::string names;
    for (py::handle t : leftovers) {
        names += "\n  " + py::repr(t).cast<std::string>();
        t.attr("cancel")();
    }
    judge(result, std::to_string(py::len(leftovers)) + " task(s) still pending after the case; cancelled:" + names);
}

std::string case_hygiene::describe_suspension(py::handle task, const std::string &label) {
    return helpers_["describe_suspension"](task, label).cast<std::string>();
}

} // namespace pyasync::testing::detail
