"""Sphinx configuration of pyasync's documentation site (docs/build.sh builds it).

Pages are MyST Markdown. The references are generated from their single sources by
_ext/pyasync_reference.py (the harness's flag table, the plugin's options, the CMake modules'
own documentation) and by Breathe over Doxygen's XML of the public headers; the `pyasync`
package's reference comes from its docstrings. Every warning fails the build (-W)."""
import os
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "pyasync"
author = "the pyasync developers"
copyright = "2026, the pyasync developers"  # noqa: A001 (Sphinx's name)
# The version is written once, in version.hpp.
version = release = re.search(r'PYASYNC_VERSION_STRING "([0-9.]+)"',
                              (HERE.parent / "bridge/include/pyasync/version.hpp").read_text())[1]

extensions = ["myst_parser", "breathe", "sphinx.ext.autodoc", "pyasync_reference"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Doxyfile"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# Nitpicky: a cross-reference to a Python object that does not exist is a warning, so an error.
nitpicky = True
nitpick_ignore_regex = [
    # Standard-library and third-party types named in signatures and docstrings: no intersphinx
    # (the build is offline), so they cannot resolve.
    (r"py:.*", r"(asyncio|typing|collections|concurrent|contextvars|types|pytest|trio|anyio)(\..*)?"),
    (r"py:class", r"pyasync\._T"),  # the package's private TypeVar
    (r"py:class", r"(object|str|int|float|bool|bytes|None|Callable|Awaitable|Coroutine|Any|Optional)"),
]

breathe_projects = {"pyasync": os.environ.get("PYASYNC_DOXYGEN_XML", str(HERE / "_build" / "doxygen" / "xml"))}
breathe_default_project = "pyasync"
breathe_domain_by_extension = {"hpp": "cpp"}
breathe_show_include = False  # the section a class is listed under names its header

html_theme = "alabaster"
html_title = "pyasync"
html_theme_options = {"description": "C++20 coroutines and asyncio, tested with the tools you live in",
                      "fixed_sidebar": True}

# C++ names from other libraries (pybind11, Asio, Boost, the standard library) and pyasync's
# internals (detail::): not in this reference, so a link to them cannot resolve.
nitpick_ignore_regex += [
    (r"cpp:.*", r"(py|pybind11|asio|boost|std|detail)(::.*)?"),
    (r"cpp:.*", r"(co_await|job|PyObject)"),  # a keyword, a member typedef, the C API
]
