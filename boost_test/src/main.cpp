// The main of a pyasync Boost.Test binary: the interpreter and an asyncio loop on the main thread,
// then Boost's unit_test_main with the alternative init API, then the loop closed and Python
// finalised. pyasync's options come after `--`, which Boost leaves alone.
#include "boost_session.hpp"

#include "capture.hpp"
#include "runner.hpp"
#include "schedule_exploration.hpp"

#include <pyasync/testing/assertions.hpp>

#include <boost/cstdlib.hpp>
#include <pybind11/embed.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace {

namespace ut = boost::unit_test;
namespace detail = pyasync::boost_test::detail;

bool init_unit_test() {
    const std::string program = ut::framework::master_test_suite().argv[0];
    ut::framework::master_test_suite().p_name.value = program.substr(program.find_last_of('/') + 1);
    detail::mirror_registered_cases();
    return true;
}

/// The tree as JSON, without Python: Boost's set-up phase only (registration and decorators).
int list_tree(char *program) {
    char *argv[] = {program, nullptr};
    try {
        ut::framework::init(&init_unit_test, 1, argv);
        ut::framework::finalize_setup_phase();
        detail::write_tree_listing(stdout);
    } catch (const std::exception &error) {
        std::fprintf(stderr, "pyasync: cannot describe the test tree: %s\n", error.what());
        ut::framework::shutdown();
        return boost::exit_exception_failure;
    }
    ut::framework::shutdown();
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
        std::fprintf(stderr, "pyasync: cannot write the test tree (--list-json) to stdout: %s\n", std::strerror(errno));
        return boost::exit_exception_failure;
    }
    return boost::exit_success;
}

int run_tests(int argc, char **argv) {
    // The interpreter outlives the session, which holds Python objects; the session (its loop)
    // is closed before Python is finalised.
    pyasync::testing::detail::watchdog::install_native_stack_dump();
    pyasync::testing::detail::apply_baked_python_path();
    pybind11::scoped_interpreter interpreter(true, 1, argv);
    int status = boost::exit_exception_failure;
    try {
        pybind11::module_::import("faulthandler").attr("enable")(pybind11::arg("all_threads") = true);
        detail::boost_session session(detail::current_options());
        status = session.finish(ut::unit_test_main(&init_unit_test, argc, argv));
    } catch (...) {
        std::fprintf(stderr, "pyasync: cannot start the session: %s\n",
                     pyasync::testing::detail::describe_current_exception().c_str());
    }
    return status;
}

} // namespace

int main(int argc, char **argv) {
    std::vector<std::string> pyasync_args;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            pyasync_args.assign(argv + i + 1, argv + argc);
            break;
        }
    }
    try {
        detail::current_options() = detail::parse_adapter_options(pyasync_args);
    } catch (const std::exception &error) {
        std::fprintf(stderr, "%s: %s\n", argv[0], error.what());
        return boost::exit_exception_failure;
    }
    if (detail::current_options().help) {
        std::fputs(detail::adapter_help(), stdout);
        return boost::exit_success;
    }
    if (detail::current_options().list_json) {
        return list_tree(argv[0]);
    }
    if (const auto &explore = detail::current_options().harness; explore.schedule) {
        std::fprintf(stderr, "pyasync: %s\n", pyasync::testing::detail::exploration_banner(explore).c_str());
    }
    // Boost's signal handling jumps out of whatever runs (the interpreter included) with
    // siglongjmp, and its alternative stack fights faulthandler's: off unless asked for.
    setenv("BOOST_TEST_CATCH_SYSTEM_ERRORS", "no", 0);
    setenv("BOOST_TEST_USE_ALT_STACK", "no", 0);
    // Python writes unbuffered; Boost's log goes through C's stdout, line-buffered here, so the
    // two stay in order when stdout is a pipe.
    setenv("PYTHONUNBUFFERED", "1", 0);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    return run_tests(argc, argv);
}
