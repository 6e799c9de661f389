"""pyasync consumed as a user consumes it: the quickstart project (quickstart/) built against an
installed prefix, by add_subdirectory and by FetchContent; a module-only project; a pip install;
two consumers' modules in one process.

Run by ci/test.sh after the dev build: PYASYNC_BUILD_DIR (default build/dev) is installed into
build/consumers/prefix, and every consumer is built under build/consumers with the interpreter
that build used."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = ROOT / "ci/consumers"
BUILD = pathlib.Path(os.environ.get("PYASYNC_BUILD_DIR", ROOT / "build/dev")).resolve()
OUT = ROOT / "build/consumers"
VERSION = re.search(r'PYASYNC_VERSION_STRING "([^"]+)"', (ROOT / "bridge/include/pyasync/version.hpp").read_text())[1]
ABI_VERSION = re.search(r"PYASYNC_ABI_VERSION (\d+)", (ROOT / "bridge/include/pyasync/version.hpp").read_text())[1]


def cached(name):
    """A value of the tested build's CMake cache."""
    cache = (BUILD / "CMakeCache.txt").read_text()
    found = re.search(rf"^{name}:[A-Z]+=(.*)$", cache, re.MULTILINE)
    return found[1] if found else ""


def built_with_python():
    return cached("Python3_EXECUTABLE")


def flags_of_the_tested_build():
    """The tested build's build type, flags and unity setting: the consumers that compile pyasync's
    sources then compile them as it did, and (ci/test.sh sets CCACHE_NOHASHDIR) take its objects
    from ccache."""
    return [f"-DCMAKE_BUILD_TYPE={cached('CMAKE_BUILD_TYPE')}", f"-DCMAKE_CXX_FLAGS={cached('CMAKE_CXX_FLAGS')}",
            f"-DCMAKE_UNITY_BUILD={cached('CMAKE_UNITY_BUILD') or 'OFF'}"]


def command(*arguments, cwd=None, env=None, check=True):
    result = subprocess.run([str(a) for a in arguments], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=1200)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, arguments))} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def clean_environment():
    """The environment of a user's shell: no PYTHONPATH from the test run."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def configure(source, binary, *arguments, check=True):
    return command("cmake", "-S", source, "-B", binary, "-G", "Ninja", *flags_of_the_tested_build(), *arguments,
                   env=clean_environment(), check=check)


def build_and_test(source, binary, *arguments):
    """Configures, builds and runs ctest; returns the configure output and the ctest output."""
    shutil.rmtree(binary, ignore_errors=True)
    configured = configure(source, binary, *arguments)
    command("cmake", "--build", binary, env=clean_environment())
    tested = command("ctest", "--test-dir", binary, "--output-on-failure", env=clean_environment(), check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    return configured.stdout, tested.stdout


def ran(ctest_output):
    return sorted(re.findall(r"Test +#\d+: (\S+) \.+ +Passed", ctest_output))


QUICKSTART_TESTS = ["Greeter.adds_later", "Greeter.greets_what_python_awaits", "pytest"]


@pytest.fixture(scope="session")
def prefix():
    prefix = OUT / "prefix"
    shutil.rmtree(prefix, ignore_errors=True)
    command("cmake", "--install", BUILD, "--prefix", prefix)
    return prefix


@pytest.fixture(scope="session")
def installed(prefix):
    return build_and_test(HERE / "quickstart", OUT / "installed", f"-DCMAKE_PREFIX_PATH={prefix}")


@pytest.fixture(scope="session")
def subdirectory():
    return build_and_test(HERE / "subdirectory", OUT / "subdirectory")


def test_the_quickstart_builds_against_an_installed_prefix(installed):
    configured, tested = installed
    assert f"greeter: using pyasync {VERSION}" in configured
    assert ran(tested) == QUICKSTART_TESTS


def test_one_pytest_run_covers_the_python_tests_and_the_cpp_cases(installed):
    verbose = command("ctest", "--test-dir", OUT / "installed", "-R", "^pytest$", "-V", env=clean_environment())
    assert "4 passed" in verbose.stdout, verbose.stdout  # test_greeter.py's two tests, greeter_tests' two cases


def test_the_quickstart_builds_with_pyasync_as_a_subdirectory(subdirectory):
    configured, tested = subdirectory
    assert f"greeter: using pyasync {VERSION}" in configured
    assert ran(tested) == QUICKSTART_TESTS


def test_the_quickstart_builds_with_pyasync_from_fetchcontent():
    configured, tested = build_and_test(HERE / "fetchcontent", OUT / "fetchcontent")
    assert f"greeter: using pyasync {VERSION}" in configured
    assert ran(tested) == QUICKSTART_TESTS


def test_the_installed_package_records_its_interpreter(installed, prefix):
    cache = (OUT / "installed/CMakeCache.txt").read_text()
    assert f"Python3_EXECUTABLE:FILEPATH={built_with_python()}" in cache
    other = "/usr/bin/python3-dbg" if os.path.realpath(built_with_python()) != os.path.realpath("/usr/bin/python3-dbg") \
        else "/usr/bin/python3"
    refused = configure(HERE / "quickstart", OUT / "other-interpreter", f"-DCMAKE_PREFIX_PATH={prefix}",
                        f"-DPython3_EXECUTABLE={other}", check=False)
    assert refused.returncode != 0
    message = " ".join(refused.stderr.split())
    assert f"was built against the Python at {built_with_python()}" in message, message
    assert f"but this project uses Python3_EXECUTABLE={other}" in message
    assert f"Use -DPython3_EXECUTABLE={built_with_python()}" in message


def test_a_module_only_consumer_needs_neither_embedding_python_nor_the_harness(prefix, tmp_path):
    (tmp_path / "CMakeLists.txt").write_text(textwrap.dedent("""
        cmake_minimum_required(VERSION 3.25)
        project(module_only LANGUAGES CXX)
        find_package(pyasync CONFIG REQUIRED COMPONENTS bridge)
        pyasync_add_module(greeter ${GREETER_SOURCE})
        foreach(target pyasync::bridge pyasync::harness Python3::Python nlohmann_json::nlohmann_json)
          if(TARGET ${target})
            message(STATUS "defined: ${target}")
          endif()
        endforeach()
        get_target_property(options pyasync::bridge INTERFACE_COMPILE_OPTIONS)
        message(STATUS "bridge options: ${options}")
        message(STATUS "version: ${pyasync_VERSION}")
    """))
    configured = configure(tmp_path, tmp_path / "build", f"-DCMAKE_PREFIX_PATH={prefix}",
                           f"-DGREETER_SOURCE={HERE / 'quickstart/greeter.cpp'}").stdout
    assert re.findall(r"defined: (\S+)", configured) == ["pyasync::bridge"]
    options = re.search(r"bridge options: (.*)", configured).group(1)
    assert "-fvisibility" not in options  # no visibility forced on consumers
    assert options.endswith("/include/pyasync/detail/asio_thread_state.hpp>")  # only Asio's shared state
    assert f"version: {VERSION}" in configured
    command("cmake", "--build", tmp_path / "build", env=clean_environment())


def test_a_boost_test_project_uses_the_installed_adapter_and_ctest_discovers_its_cases(prefix, tmp_path):
    (tmp_path / "CMakeLists.txt").write_text(textwrap.dedent("""
        cmake_minimum_required(VERSION 3.25)
        project(boost_consumer LANGUAGES CXX)
        find_package(pyasync CONFIG REQUIRED COMPONENTS boost_test)
        enable_testing()
        pyasync_add_boost_test_executable(net_tests SOURCES net_tests.cpp)
        pyasync_discover_boost_tests(net_tests)
    """))
    (tmp_path / "net_tests.cpp").write_text(textwrap.dedent("""
        #include <pyasync/boost_test.hpp>
        #include <pyasync/pyasync.hpp>
        BOOST_AUTO_TEST_SUITE(net)
        PYASYNC_BOOST_TEST_CASE(sleeps, *boost::unit_test::label("fast")) -> pyasync::task<> {
            co_await pyasync::sleep(0.01);
            BOOST_TEST(1 + 1 == 2);
        }
        BOOST_AUTO_TEST_CASE(sync_case) { BOOST_TEST(true); }
        BOOST_AUTO_TEST_SUITE_END()
    """))
    configure(tmp_path, tmp_path / "build", f"-DCMAKE_PREFIX_PATH={prefix}")
    command("cmake", "--build", tmp_path / "build", env=clean_environment())
    listed = command("ctest", "-N", "-L", "fast", cwd=tmp_path / "build").stdout
    assert "net/sleeps" in listed and "net/sync_case" not in listed
    result = command("ctest", "--output-on-failure", cwd=tmp_path / "build", env=clean_environment())
    assert "100% tests passed, 0 tests failed out of 2" in result.stdout


def test_a_harness_binary_run_directly_imports_the_modules_registered_for_it(installed, tmp_path):
    result = command(OUT / "installed/greeter_tests", cwd=tmp_path, env=clean_environment())
    assert "2 passed, 0 failed" in result.stdout


def test_modules_of_two_consumers_share_one_bridge_in_one_process(installed, subdirectory, prefix):
    # The installed consumer's module and the subdirectory consumer's module (linked to a
    # libpyasync of its own build tree) in one interpreter: one library is loaded, one runtime.
    script = textwrap.dedent(f"""
        import asyncio, importlib.util, pathlib, sys
        def load(alias, directory):
            path = next(pathlib.Path(directory).glob("greeter*.so"))
            spec = importlib.util.spec_from_file_location("greeter", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        installed = load("installed", {str(OUT / 'installed')!r})
        included = load("included", {str(OUT / 'subdirectory/greeter')!r})
        import pyasync
        first, second = installed.add_later(1, 2), included.add_later(3, 4)
        print(type(first) is type(second) is pyasync.coroutine)
        async def both():
            return await asyncio.gather(first, second, included.greet(asyncio.sleep(0, "both")))
        print(asyncio.run(both()))
        maps = pathlib.Path("/proc/self/maps").read_text().split()
        print(sorted({{word for word in maps if "libpyasync.so" in word}}))
    """)
    env = clean_environment()
    env["PYTHONPATH"] = str(next(prefix.glob("lib/python3*/site-packages")))
    result = command(built_with_python(), "-c", script, env=env)
    same_type, values, libraries = result.stdout.splitlines()
    assert same_type == "True"
    assert values == "[3, 7, 'hello both']"
    assert libraries == f"['{prefix}/lib/libpyasync.so.{VERSION}']", libraries


def test_pip_install_puts_a_working_package_in_the_target(tmp_path):
    target = tmp_path / "site"
    env = clean_environment()
    env["PYASYNC_CMAKE_ARGS"] = " ".join(f"'{flag}'" for flag in flags_of_the_tested_build())
    command(built_with_python(), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--quiet",
            "--target", target, ROOT, env=env, cwd=ROOT)
    assert (target / "bin/pyasync-test").exists()
    env["PYTHONPATH"] = str(target)
    result = command(built_with_python(), "-c", textwrap.dedent("""
        import asyncio, pyasync
        async def main():
            await asyncio.sleep(0)
            return "ran"
        print(pyasync.__version__, pyasync.library_path, pyasync.run(main(), loop_factory="asyncio"))
    """), env=env, cwd=tmp_path)
    assert result.stdout.split() == [VERSION, f"{target}/pyasync/libpyasync.so.{ABI_VERSION}", "ran"]
    assert_plain_pytest_loads_the_plugin(env, tmp_path)


def assert_plain_pytest_loads_the_plugin(env, directory):
    """Plain `pytest` (no -p, no conftest) finds the plugin through its pytest11 entry point and
    runs a marked async test on pyasync's loop."""
    (directory / "test_installed_plugin.py").write_text(textwrap.dedent("""
        import asyncio, pytest

        @pytest.mark.pyasync
        async def test_on_pyasyncs_loop():
            await asyncio.sleep(0)
    """))
    result = command(built_with_python(), "-m", "pytest", "-p", "no:cacheprovider", "test_installed_plugin.py",
                     env=env, cwd=directory)
    assert "pyasync: mode=strict, loop=asyncio" in result.stdout
    assert "1 passed" in result.stdout


def test_plain_pytest_loads_the_plugin_from_an_installed_prefix(prefix, tmp_path):
    env = clean_environment()
    env["PYTHONPATH"] = str(next(prefix.glob("lib/python3*/site-packages")))
    assert_plain_pytest_loads_the_plugin(env, tmp_path)


def test_the_readme_example_is_the_quickstart_module_built_here():
    readme = (ROOT / "README.md").read_text()
    whole_file = (HERE / "quickstart" / "greeter.cpp").read_text()
    assert f"<!-- checked: ci/consumers/quickstart/greeter.cpp -->\n```cpp\n{whole_file}```" in readme


@pytest.mark.parametrize("name, page", [("greeter.cpp", "first-module"), ("CMakeLists.txt", "first-module"),
                                        ("greeter_tests.cpp", "harness"), ("test_greeter.py", "pytest")])
def test_the_tutorials_show_every_file_of_the_quickstart_project(name, page):
    # Included whole (no :start-at:/:end-before: right after the path) by at least one block.
    text = (ROOT / "docs" / "tutorials" / f"{page}.md").read_text()
    assert re.search(r"```\{literalinclude\} \.\./\.\./ci/consumers/quickstart/" + re.escape(name) +
                     r"\n:language: \w+\n```", text), f"docs/tutorials/{page}.md does not include {name} whole"


def test_the_readme_snippets_project_builds_and_its_cases_pass(prefix):
    configured, tested = build_and_test(HERE / "snippets", OUT / "snippets", f"-DCMAKE_PREFIX_PATH={prefix}")
    assert ran(tested) == ["Math.adds", "Net.sleeps", "net/fetches", "net/with_server", "pytest"]
    # One pytest run: the Python test with its C++ fixture, and both harness cases as items.
    verbose = command("ctest", "--test-dir", OUT / "snippets", "-R", "^pytest$", "-V", env=clean_environment())
    assert "3 passed" in verbose.stdout, verbose.stdout


def test_every_snippet_of_the_readme_and_the_docs_is_cut_from_a_checked_source():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    assert len(pages) > 1
    checked = command(sys.executable, ROOT / "tools/snippets.py", *pages, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == ""


def test_the_readme_command_that_imports_the_installed_quickstart_runs(installed, prefix):
    # The README's command, with its install prefix and build directory replaced by this test's.
    readme = (ROOT / "README.md").read_text()
    start = readme.index('    PYTHONPATH="build/greeter:')
    lines = readme[start:].split("\n")[:2]
    script = " ".join(line.strip().rstrip("\\") for line in lines)
    site_packages = next(prefix.glob("lib/python3*/site-packages"))
    script = script.replace("$HOME/.local/pyasync/lib/python3.11/site-packages", str(site_packages)) \
        .replace("build/greeter", str(OUT / "installed"))
    done = command("bash", "-c", script, env=clean_environment())
    assert done.stdout.strip() == "5", done.stdout + done.stderr

