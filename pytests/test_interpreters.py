"""The declared minimum CPython is the real one: CMake, the headers and the package each refuse an
older interpreter with one message naming the minimum (read here, as everywhere, from version.hpp)."""
import os
import pathlib
import re
import subprocess
import sys
import sysconfig

import pytest

import dependencies

import pyasync

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSION_HEADER = (ROOT / "bridge/include/pyasync/version.hpp").read_text()
MINIMUM = tuple(int(re.search(rf"#define PYASYNC_PYTHON_MINIMUM_{part} (\d+)", VERSION_HEADER).group(1))
                for part in ("MAJOR", "MINOR"))
MINIMUM_TEXT = "%d.%d" % MINIMUM


@pytest.fixture(scope="module")
def older_python():
    """A CPython one minor release older than the minimum, with its headers (ci/find-python.sh)."""
    older = "%d.%d" % (MINIMUM[0], MINIMUM[1] - 1)
    found = subprocess.run(["bash", str(ROOT / "ci/find-python.sh"), older], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip(f"no CPython {older} with headers on this machine (ci/find-python.sh {older})")
    path = found.stdout.strip()
    version = subprocess.run([path, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    include = subprocess.run([path, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return path, version, include


def test_the_minimum_is_the_oldest_release_with_what_pyasync_uses():
    # asyncio.Runner (pyasync.run, the plugin), asyncio.timeout, TaskGroup, create_task(context=).
    assert MINIMUM == (3, 11)
    assert sys.version_info[:2] >= MINIMUM


def test_cmake_refuses_an_older_interpreter_naming_the_minimum(older_python, tmp_path):
    path, version, _ = older_python
    configure = subprocess.run(
        ["cmake", "-S", str(ROOT), "-B", str(tmp_path / "build"), f"-DPython3_EXECUTABLE={path}",
         "-DPYASYNC_TESTS=OFF", "-DPYASYNC_HARNESS=OFF", "-DPYASYNC_INSTALL=OFF"],
        capture_output=True, text=True)
    assert configure.returncode != 0
    message = " ".join(configure.stderr.split())
    assert f"pyasync needs CPython {MINIMUM_TEXT} or newer, but {path} is {version}." in message, configure.stderr
    assert "Pass -DPython3_EXECUTABLE=/path/to/python3" in message


def test_the_headers_refuse_an_older_interpreter_naming_the_minimum(older_python):
    _, version, include = older_python
    compiler = subprocess.run(
        ["c++", "-std=c++20", "-fsyntax-only", "-I", str(ROOT / "bridge/include"), "-isystem", include, "-x", "c++",
         "-"], input="#include <pyasync/config.hpp>\n", capture_output=True, text=True)
    assert compiler.returncode != 0
    assert (f"pyasync needs CPython {MINIMUM_TEXT} or newer: these are the headers of {version} (configure with "
            "-DPython3_EXECUTABLE=/path/to/a/newer/python3)") in compiler.stderr, compiler.stderr


def test_importing_the_package_in_another_interpreter_names_both(older_python):
    path, version, _ = older_python
    package = pathlib.Path(pyasync.__file__).resolve().parent
    result = subprocess.run([path, "-c", "import pyasync"], capture_output=True, text=True,
                            env={"PYTHONPATH": str(package.parent), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    core = f"_core{sysconfig.get_config_var('EXT_SUFFIX')}"
    assert last.startswith(f"ImportError: pyasync's native core did not load in CPython {version} at {path} "
                           f"(expects .cpython-{MINIMUM[0]}{MINIMUM[1] - 1}-"), last
    assert f"{package} holds {core}" in last, last
    assert f"build or install it with this one (CMake: -DPython3_EXECUTABLE={path}; pip: {path} -m pip install" \
        in last, last


def test_pip_refuses_an_older_interpreter_by_the_same_minimum(tmp_path):
    dependencies.require("setuptools")
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)], cwd=ROOT,
                   capture_output=True, check=True)
    metadata = (tmp_path / "pyasync.egg-info" / "PKG-INFO").read_text()
    assert f"Requires-Python: >={MINIMUM_TEXT}\n" in metadata


def test_a_test_dependency_that_does_not_import_fails_unless_it_may_be_missing(monkeypatch):
    import dependencies

    monkeypatch.setattr(dependencies, "MAY_BE_MISSING", frozenset())
    with pytest.raises(ImportError, match=r"^the test dependency no_such_test_dependency does not import in Python "
                                          r"3\.\d+ \(ModuleNotFoundError: No module named 'no_such_test_dependency'\): "
                                          r"install it \(ci/install-deps\.sh\), or, for an interpreter it is not built "
                                          r"for, name it in PYASYNC_OPTIONAL_TEST_MODULES$"):
        dependencies.load("no_such_test_dependency")
    monkeypatch.setattr(dependencies, "MAY_BE_MISSING", frozenset({"no_such_test_dependency"}))
    assert dependencies.load("no_such_test_dependency") is None
    with pytest.raises(pytest.skip.Exception, match=r"^no_such_test_dependency does not import in Python 3\.\d+: "
                                                    r"ModuleNotFoundError: No module named 'no_such_test_dependency'$"):
        dependencies.require("no_such_test_dependency")
    mark = dependencies.needs("no_such_test_dependency", "asyncio")
    assert mark.args == (True,) and mark.kwargs["reason"].startswith("no_such_test_dependency does not import")
    assert dependencies.needs("asyncio").args == (False,)


def test_a_module_whose_dependency_may_be_missing_is_collected_and_skipped_not_empty(pytester, monkeypatch):
    # A module-level importorskip leaves pytest nothing collected (exit status 5, which ctest
    # counts as a failure); dependencies.needs marks each test skipped instead.
    monkeypatch.setenv("PYTHONPATH", f"{pathlib.Path(__file__).parent}:{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("PYASYNC_OPTIONAL_TEST_MODULES", "no_such_test_dependency")
    pytester.makepyfile(test_needs="""
        import dependencies
        pytestmark = dependencies.needs("no_such_test_dependency")

        def test_one():
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:pyasync", "-rs")
    assert result.ret == 0
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED *no_such_test_dependency does not import in Python 3.*"])
