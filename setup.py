"""pip install --no-build-isolation . : the pyasync package with its native core.

A small build backend over CMake (as pybind11's cmake_example): setuptools installs the Python
files of bridge/python/pyasync and the pytest plugin (harness/python); CMake builds libpyasync,
pyasync._core and pyasync_fixtures (the plugin's C++ fixtures) and puts the first two in the
package directory, where _core finds the library beside itself ($ORIGIN). The interpreter that
runs pip is the one pyasync is built for. PYASYNC_CMAKE_ARGS adds CMake arguments (for example
-DCMAKE_BUILD_TYPE=Debug); the build uses Ninja when it is installed.
"""
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


VERSION_HEADER = (ROOT / "bridge/include/pyasync/version.hpp").read_text()


def version():
    return re.search(r'#define PYASYNC_VERSION_STRING "([^"]+)"', VERSION_HEADER).group(1)


def python_minimum():
    major, minor = (re.search(rf"#define PYASYNC_PYTHON_MINIMUM_{part} (\d+)", VERSION_HEADER).group(1)
                    for part in ("MAJOR", "MINOR"))
    return f"{major}.{minor}"


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class BuildWithCMake(build_ext):
    def build_extension(self, ext):
        package_dir = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        staging = build_dir / "staging"
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DPYASYNC_TESTS=OFF", "-DPYASYNC_HARNESS=OFF", "-DPYASYNC_INSTALL=ON",
            f"-DCMAKE_INSTALL_PREFIX={staging}",
            # libpyasync and _core side by side in the package: _core's RPATH is $ORIGIN.
            "-DCMAKE_INSTALL_LIBDIR=pyasync", "-DPYASYNC_PYTHON_INSTALL_DIR=.",
        ]
        if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja"]
        configure += shlex.split(os.environ.get("PYASYNC_CMAKE_ARGS", ""))
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "pyasync_core", "pyasync_fixtures_module"],
                       check=True)
        subprocess.run(["cmake", "--install", str(build_dir), "--component", "python"], check=True)
        package_dir.mkdir(parents=True, exist_ok=True)
        installed = staging / "pyasync"
        # The core and the library under its soname (what the core's DT_NEEDED names), as files.
        for native in list(installed.glob("_core*.so")) + list(installed.glob("libpyasync.so.[0-9]")):
            shutil.copyfile(native, package_dir / native.name)
        # pyasync_fixtures, the plugin's ready-made C++ fixtures: a top-level module beside the
        # package (its RPATH, $ORIGIN/pyasync, finds the library in the package).
        for native in staging.glob("pyasync_fixtures*.so"):
            shutil.copyfile(native, package_dir.parent / native.name)


setup(
    name="pyasync",
    version=version(),
    description="C++20 coroutines <-> Python asyncio, test harness first",
    packages=["pyasync", "pyasync.pytest_plugin"],
    package_dir={"": "bridge/python", "pyasync.pytest_plugin": "harness/python/pyasync/pytest_plugin"},
    entry_points={"pytest11": ["pyasync = pyasync.pytest_plugin"]},
    package_data={"pyasync": ["py.typed", "*.pyi"]},
    ext_modules=[CMakeExtension("pyasync._core")],
    cmdclass={"build_ext": BuildWithCMake},
    scripts=["tools/pyasync-test"],
    python_requires=f">={python_minimum()}",
    zip_safe=False,
)
