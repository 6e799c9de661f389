#pragma once
/// \file
/// The test registry: what `PYASYNC_TEST` records about each case (its name, its place in the
/// source, sync or async, its attributes) and how the session will invoke it.
///
/// Registration runs during static initialisation and never touches Python, so listing a
/// harness binary (`--list`, `--gtest_list_tests`) is instant and needs no interpreter.

#include <pyasync/task.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyasync::testing {

/// Whether a case is a plain function or a coroutine (`-> pyasync::task<>`).
enum class case_kind { sync, async };

/// How the session runs one case. One subclass per way of writing a case: a plain function, a
/// coroutine, and either of them with a fixture (`detail/invokers.hpp`).
class case_invoker {
public:
    virtual ~case_invoker() = default;
    /// Sync or async: which of the two members below the session calls.
    [[nodiscard]] virtual case_kind kind() const noexcept = 0;
    /// Async cases: the case as a lazy task, which the session runs as an asyncio Task on its
    /// loop, on the main thread. GIL held.
    virtual task<> run_async();
    /// Sync cases: runs the case on the main thread while `loop` (the session's loop) is idle,
    /// not running, so the case may itself call `asyncio.run` or `loop.run_until_complete`.
    /// GIL held.
    virtual void run_sync(py::handle loop);
};

/// Suite-level hooks (a fixture's static `set_up_suite` / `tear_down_suite`), run once before
/// the first and after the last case of the suite that the session runs. GIL held, on the loop.
struct suite_hooks {
    task<> (*set_up)() = nullptr;    ///< before the suite's first case, or nullptr
    task<> (*tear_down)() = nullptr; ///< after its last case, or nullptr
    /// The fixture type's name, for messages.
    const char *fixture = nullptr;
};

/// One registered case. `suite` and `name` are C++ identifiers; the full name is `Suite.Case`.
struct case_info {
    std::string suite;                       ///< `Suite` of `PYASYNC_TEST(Suite, Case)`
    std::string name;                        ///< `Case`
    std::string file;                        ///< where the case is defined (`__FILE__`)
    int line = 0;                            ///< and its line
    std::vector<std::string> tags;           ///< Catch2-style, stored without brackets.
    bool ignored = false;                    ///< `ignore("why")` or a `DISABLED_` prefix.
    std::string ignore_reason;               ///< `ignore`'s text (empty for `DISABLED_`)
    std::optional<double> timeout_seconds;   ///< Overrides `--timeout`; exported to ctest TIMEOUT.
    std::vector<std::string> resource_locks; ///< Exported to ctest RESOURCE_LOCK.
    std::shared_ptr<case_invoker> invoker;   ///< how the session runs it
    suite_hooks suite_fixture;               ///< the suite fixture's hooks, when it has one

    /// `Suite.Case`: how filters, reports and ctest name it.
    [[nodiscard]] std::string full_name() const { return suite + "." + name; }
    /// Sync or async (its invoker's kind).
    [[nodiscard]] case_kind kind() const noexcept { return invoker->kind(); }
};

// ---- Attributes: extra arguments of PYASYNC_TEST(Suite, Case, attributes...) ----

/// Catch2-style tags: `tags("[net][slow]")`. A tag `[.]` or `[!ignore]` ignores the case.
// Each attribute has a constructor: Clang before 16 cannot build an aggregate from parentheses
// (C++20's P0960), and `tags("[net]")` is how they are written.
struct tags {
    /// `spec`: one or more bracketed tags (a string literal: kept by view).
    constexpr explicit tags(std::string_view spec) : spec(spec) {}
    std::string_view spec; ///< as given
    /// Adds the tags to `info` (and ignores it for `[.]` or `[!ignore]`). At registration.
    void apply(case_info &info) const;
};
/// Registers the case as ignored (libtest's `#[ignore = "why"]`): it runs only with `--ignored`
/// or `--include-ignored`, and ctest marks it DISABLED.
struct ignore {
    /// `reason`: why (a string literal: kept by view); listings and reports show it.
    constexpr explicit ignore(std::string_view reason) : reason(reason) {}
    std::string_view reason; ///< as given
    /// Marks `info` ignored with the reason. At registration.
    void apply(case_info &info) const;
};
/// A per-case timeout, overriding `--timeout`: an async case is cancelled through asyncio, a
/// sync case is stopped by a watchdog. Exported to ctest's TIMEOUT (plus a margin).
struct timeout {
    /// `limit`: any duration (`500ms`, `2s`).
    constexpr explicit timeout(std::chrono::duration<double> limit) : limit(limit) {}
    std::chrono::duration<double> limit; ///< as given
    /// Sets `info`'s timeout. At registration.
    void apply(case_info &info) const { info.timeout_seconds = limit.count(); }
};
/// A named resource the case needs alone: exported to ctest's RESOURCE_LOCK.
struct resource_lock {
    /// `name`: the resource (a string literal: kept by view).
    constexpr explicit resource_lock(std::string_view name) : name(name) {}
    std::string_view name; ///< as given
    /// Adds the lock to `info`. At registration.
    void apply(case_info &info) const { info.resource_locks.emplace_back(name); }
};

/// What `register_case` returns for a case it refused.
inline constexpr std::size_t not_registered = static_cast<std::size_t>(-1);

/// Adds a case to the registry (what the macros call; usable directly, like gtest's
/// `RegisterTest`, to register cases in a loop). Returns its index. Static initialisation or
/// `main`, before the session starts; no Python. Never throws for a bad case: a name that is
/// not an identifier, a missing invoker or a name registered twice is recorded in
/// `registration_errors()` (and `not_registered` returned), and the session then exits with a
/// usage error (4) that names both places, instead of terminating during static
/// initialisation.
std::size_t register_case(case_info info);

/// Adds `directories` (joined with ':') to where the harness's interpreter imports from, after
/// the entries of the PYTHONPATH the environment gives. `pyasync_add_test_executable` bakes the
/// directories of the modules registered for a binary this way (a generated source calls it
/// during static initialisation), so the binary run directly imports them as it does under
/// ctest and the driver. Static initialisation or `main`, before the session starts; no Python.
void add_python_path(const char *directories);

/// Why cases were refused, in registration order; empty when all were accepted.
[[nodiscard]] const std::vector<std::string> &registration_errors() noexcept;

/// Every registered case, in registration order.
[[nodiscard]] const std::vector<case_info> &registered_cases() noexcept;

/// A live session-wide fixture, as the session sees it (a type-erased `PYASYNC_TEST_GLOBAL_FIXTURE`).
class fixture_lifetime {
public:
    virtual ~fixture_lifetime() = default;
    /// Before the first case. Both run on the session loop (an asyncio Task), main thread, GIL held.
    virtual task<> set_up() = 0;
    /// After the last case, also when cases (or `set_up`) failed.
    virtual task<> tear_down() = 0;
};

/// A session-wide (global) fixture: made and set up once before the first case runs, torn down
/// after the last one (even when cases failed). `make` runs after the interpreter started.
struct global_fixture {
    std::string name;                                      ///< the fixture type's name, for messages
    std::unique_ptr<fixture_lifetime> (*make)() = nullptr; ///< makes it (GIL held)
};
/// Adds a global fixture (what `PYASYNC_TEST_GLOBAL_FIXTURE` calls). Static initialisation or
/// `main`, before the session starts; no Python.
void register_global_fixture(global_fixture fixture);
/// Every registered global fixture, in registration order (set up in it, torn down in reverse).
[[nodiscard]] const std::vector<global_fixture> &registered_global_fixtures() noexcept;

} // namespace pyasync::testing
