"""The documentation site builds with no warning, is complete and works (issue 33). Run by the
test command with PYASYNC_BUILD_DIR naming the build the references are generated from: the
first test builds the site there (docs/build.sh BUILD_DIR), the others read what it built.

- Each reference holds every entry of its single source: every harness flag (as the binary prints
  them), every plugin option and ini key, every public CMake function, every public header.
- (That every code block of every page is a checked source is ci/consumers/test_consumers.py's
  test over README.md and docs/; that --help and --help --format json list the same flags is
  pytests/test_harness_cli.py's.)
- In a real browser (headless Chromium), the search page finds `PYASYNC_FIXTURE`, and its first
  result leads to the C++ reference's entry for it."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("PYASYNC_BUILD_DIR", ROOT / "build/dev")).resolve()
HTML = BUILD / "docs/html"
pytestmark = pytest.mark.skipif("PYASYNC_BUILD_DIR" not in os.environ, reason="run by the test command "
                                "(PYASYNC_BUILD_DIR: a build with its harness binaries and Python package)")

sys.path.insert(0, str(ROOT / "docs/_ext"))
sys.path.insert(0, str(BUILD / "python"))  # the pyasync package whose plugin the reference describes


class Text(HTMLParser):
    """A page's text, the ids of its elements, and the names its entries declare (Sphinx's
    `sig-name descname` spans: an option's spellings, a C++ entity's name)."""

    def __init__(self):
        super().__init__()
        self.parts, self.ids, self.names = [], set(), set()
        self.open_spans: list = []

    def handle_starttag(self, tag, attributes):
        self.ids.update(value for name, value in attributes if name == "id")
        if tag == "span":
            self.open_spans.append("descname" in (dict(attributes).get("class") or ""))

    def handle_endtag(self, tag):
        if tag == "span" and self.open_spans:
            self.open_spans.pop()

    def handle_data(self, data):
        self.parts.append(data)
        if any(self.open_spans):
            self.names.add(data.strip())


def page(name: str) -> Text:
    parsed = Text()
    parsed.feed((HTML / name).read_text())
    return parsed


def text_of(name: str) -> str:
    return " ".join(" ".join(page(name).parts).split())


@pytest.fixture(scope="module", autouse=True)
def built():
    """docs/build.sh, once: Doxygen, then Sphinx with every warning an error."""
    shutil.rmtree(BUILD / "docs", ignore_errors=True)
    return subprocess.run(["bash", ROOT / "docs/build.sh", BUILD], capture_output=True, text=True, timeout=600)


def test_the_site_builds_from_its_sources_with_no_warning(built):
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-5000:]
    assert not re.search(r"WARNING|ERROR|error:|warning:", built.stdout + built.stderr), built.stderr[-5000:]
    assert (HTML / "index.html").is_file()


def test_every_harness_flag_has_its_entry_with_its_environment_twin_and_default():
    done = subprocess.run([BUILD / "pytests/pyasync_bridge_suite", "--help", "--format", "json"], capture_output=True,
                          text=True, check=True)
    flags = json.loads(done.stdout)["flags"]
    assert len(flags) >= 30
    reference = page("reference/harness-cli.html")
    text = " ".join(" ".join(reference.parts).split())
    for flag in flags:
        for name in flag["names"]:
            assert name in reference.names, f"{name} has no entry in the harness reference"
        if flag["environment"]:
            assert flag["environment"] in text, f"{flag['names'][0]}: its twin {flag['environment']} is not shown"
    assert "async cases in flight on the loop at once Environment: PYASYNC_TEST_TEST_THREADS Default: 1" in text


def test_every_plugin_option_and_ini_key_has_its_entry():
    import pyasync_reference

    parser = pyasync_reference.plugin_parser()
    reference = page("reference/pytest-plugin.html")
    options = [name for group in parser._groups for option in group.options for name in option.names()]
    assert "--pyasync-loop" in options and len(options) >= 9
    for name in options:
        assert name in reference.names, f"{name} has no entry in the plugin reference"
    text = " ".join(" ".join(reference.parts).split())
    for key in parser._inidict:
        assert key in text, f"the ini key {key} has no entry"


def test_every_public_cmake_function_has_its_entry():
    functions = sorted({name for module in (ROOT / "tools/cmake").glob("*.cmake")
                        for name in re.findall(r"^(?:function|macro)\((pyasync_\w+)", module.read_text(), re.M)})
    assert "pyasync_add_module" in functions
    text = text_of("reference/cmake.html")
    missing = [name for name in functions if name not in text]
    assert missing == [], "documented in no module block that docs/reference/cmake.rst includes"


def test_every_public_header_has_its_section_and_its_entities():
    import pyasync_reference

    text = text_of("reference/cpp-api.html")
    for header in pyasync_reference.public_headers():
        assert header.relative_to(ROOT).as_posix().split("/include/", 1)[1] in text
    for entity in ("pyasync::task", "pyasync::spawn_all", "PYASYNC_FIXTURE", "PYASYNC_TEST", "pyasync::testing::options"):
        assert entity in text


def test_the_performance_page_has_every_gate_row_and_every_goal():
    sys.path.insert(0, str(ROOT / "tools/bench"))
    import goals
    import instructions

    text = text_of("performance.html").replace("\u2019", "'")  # Sphinx's smart quotes
    baseline = json.loads(instructions.BASELINE.read_text())
    for row in instructions.ROWS:
        assert f"{row.name} {' '.join(row.what.split())}" in text and f"{baseline[row.name]:,.0f}" in text, row.name
    for key, goal in goals.GOALS.items():
        assert f"{key} {goal.comparison} {goal.bound:g}" in text, key


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def rendered(url: str) -> str:
    """The page's DOM after its scripts ran, from headless Chromium."""
    done = subprocess.run([chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--virtual-time-budget=15000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_search_finds_pyasync_fixture_and_leads_to_its_entry():
    assert chromium() is not None, "no chromium: bash ci/install-deps.sh --for-tests installs it"
    # What the search box does: it submits to search.html?q=..., whose script looks the words up
    # in the index and lists links to the pages, each to the place the word is.
    dom = rendered((HTML / "search.html").as_uri() + "?q=PYASYNC_FIXTURE")
    results = re.findall(r'<ul class="search">(.*?)</ul>', dom, re.S)
    assert results, "the search page listed no results:\n" + dom[-3000:]
    links = re.findall(r'<a href="([^"]+)"', results[0])
    # The first result is the C++ reference's entry itself (a link with its anchor).
    assert links and links[0].split("#")[0].endswith("reference/cpp-api.html") and "#" in links[0], links
    path, anchor = links[0].split("#", 1)
    assert anchor in page(path).ids, f"the result links to #{anchor}, which {path} does not have"
    followed = rendered((HTML / path).as_uri() + "#" + anchor)
    entry = followed[followed.index(f'id="{anchor}"'):][:3000]
    assert "PYASYNC_FIXTURE" in entry and "requesting the fixtures" in entry, entry


# ---- troubleshooting: every message that names a fix has its entry, and every entry quotes a real message

MESSAGE_SOURCES = ["bridge/src/*.cpp", "bridge/include/pyasync/*.hpp", "bridge/include/pyasync/detail/*.hpp",
                   "bridge/python/pyasync/*.py", "harness/src/**/*.cpp", "harness/python/pyasync/pytest_plugin/*.py",
                   "boost_test/src/*.cpp", "tools/cmake/*.cmake", "setup.py", "tools/pyasync-test"]
# A message names a fix when it says one of these (what a user then does: rebuild, install, pass
# an interpreter, re-run CMake, build the binaries).
NAMES_A_FIX = re.compile(r"Rebuild|rebuild it|re-run CMake|build or install|\(Debian: |-DPython3_EXECUTABLE|"
                         r"are the binaries built")
LITERAL = re.compile(r'f?"((?:[^"\\\n]|\\.)*)"')
PLACEHOLDER = re.compile(r"%[sdz]+|\{[^}]*\}|\$\{[^}]*\}|<[^>]+>")


def messages() -> list:
    """Every message of the sources, as the text of its string literals joined (adjacent literals
    are one message, as the compilers join them)."""
    found = []
    for pattern in MESSAGE_SOURCES:
        for path in ROOT.glob(pattern):
            text = path.read_text()
            group: list = []
            for literal in LITERAL.finditer(text):
                if group and text[group[-1].end():literal.start()].strip() not in ("", "+"):
                    found.append("".join(item.group(1) for item in group))
                    group = []
                group.append(literal)
            if group:
                found.append("".join(item.group(1) for item in group))
    return found


def words(text: str) -> str:
    return " ".join(text.split())


def quoted_messages(pages=("troubleshooting.md",)) -> list:
    return [line[2:] for page in pages for line in (ROOT / "docs" / page).read_text().splitlines()
            if line.startswith("> ")]


def every_page() -> tuple:
    return tuple(path.relative_to(ROOT / "docs").as_posix() for path in sorted((ROOT / "docs").rglob("*.md"))
                 if "_build" not in path.parts)


def test_every_message_quoted_on_a_page_exists_in_the_code():
    sources = words(" ".join(messages()))
    quoted = quoted_messages(every_page())
    assert len(quoted) >= 15
    for message in quoted:
        for fragment in PLACEHOLDER.split(message):
            assert words(fragment) in sources, f"{message!r}: {fragment!r} is in no message of the code"


def test_every_message_that_names_a_fix_has_its_troubleshooting_entry():
    page = words(" ".join(quoted_messages()))
    naming = [message for message in messages() if NAMES_A_FIX.search(message) and "pyasync" in message]
    assert len(naming) >= 8
    missing = []
    for message in naming:
        # Runs of four words (or a whole fragment of three) between the placeholders.
        runs = [" ".join(fragment.split()[start:start + 4]) for fragment in PLACEHOLDER.split(message)
                if len(fragment.split()) >= 3 for start in range(max(len(fragment.split()) - 3, 1))]
        if not any(run in page for run in runs):
            missing.append(message[:120])
    assert missing == [], "messages naming a fix with no entry in docs/troubleshooting.md"


def test_the_readme_links_into_every_page_of_the_site_and_each_link_resolves():
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[^)#]+)\)", readme))
    assert linked, "the README links into no page of docs/"
    broken = sorted(link for link in linked if not (ROOT / link).is_file())
    assert broken == [], f"README links to pages that do not exist: {broken}"
    pages = {path.relative_to(ROOT).as_posix() for suffix in ("*.md", "*.rst")
             for path in (ROOT / "docs").rglob(suffix) if "_build" not in path.parts}
    pages.discard("docs/index.md")
    assert sorted(pages - linked) == [], "pages of the site the README does not link to"


# ---- the command lines of the pages -------------------------------------------------------------

def command_blocks():
    """(page, line, command) of every command line of README.md and docs/: the indented blocks
    (a blank line before, not a list item's continuation), continuation lines joined, each
    `&&`-separated command apart."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        lines = path.read_text().split("\n")
        index = 0
        while index < len(lines):
            previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
            if not (lines[index].startswith("    ") and lines[index - 1].strip() == "" and
                    not previous.lstrip().startswith(("- ", "* ", "|"))):
                index += 1
                continue
            start = index
            block = []
            while index < len(lines) and (lines[index].startswith("    ") or lines[index] == ""):
                block.append(lines[index][4:])
                index += 1
            for joined in "\n".join(block).replace("\\\n", " ").split("\n"):
                for each in joined.split("&&"):
                    if each.strip():
                        found.append((path.relative_to(ROOT).as_posix(), start + 1, each.strip()))
    return found


def harness_flags() -> set:
    done = subprocess.run([BUILD / "pytests/pyasync_bridge_suite", "--help", "--format", "json"], capture_output=True,
                          text=True, check=True)
    return {name for flag in json.loads(done.stdout)["flags"] for name in flag["names"]}


def driver_flags() -> set:
    done = subprocess.run([sys.executable, ROOT / "tools/pyasync-test", "--help"], capture_output=True, text=True)
    return set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", done.stdout))


def problems_of(command: str, harness: set, driver: set, presets: set, cache_variables: str) -> list:
    import shlex
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        words.pop(0)  # an environment assignment
    if not words:
        return []
    program, arguments = words[0], words[1:]
    found = []
    if program == "bash":
        script = arguments[0]
        if not (ROOT / script).is_file():
            found.append(f"runs {script}, which does not exist")
    elif program in ("cmake", "ctest"):
        for flag, value in zip(arguments, arguments[1:] + [""]):
            if flag == "--preset" and value not in presets:
                found.append(f"names the preset {value}, which CMakePresets.json does not define")
            if flag == "-S" and value not in (".",) and not (ROOT / value).is_dir():
                found.append(f"configures {value}, which does not exist")
        for definition in re.findall(r"-D(PYASYNC_\w+)=", command):
            if definition not in cache_variables:
                found.append(f"sets {definition}, which no CMakeLists.txt reads")
    elif program == "tools/pyasync-test" or program.startswith("build/"):
        if program == "tools/pyasync-test" and not (ROOT / program).is_file():
            found.append("runs tools/pyasync-test, which does not exist")
        known = harness | (driver if program == "tools/pyasync-test" else set())
        for argument in arguments:
            flag = argument.split("=", 1)[0]
            if flag.startswith("-") and flag not in known:
                found.append(f"passes {flag}, which no harness binary{' or driver' if program.startswith('tools') else ''}"
                             " takes")
    elif program.startswith("/usr/bin/python3") or program == "python3":
        pass  # a Python one-liner: the README's is run by ci/consumers/test_consumers.py
    else:
        found.append(f"runs {program}: expected bash SCRIPT, cmake, ctest, tools/pyasync-test, a harness binary "
                     "under build/, or python3 (add the program to this check if a page needs another)")
    return found


def test_every_command_line_of_the_pages_names_scripts_presets_and_flags_that_exist():
    presets = {entry["name"] for kind in ("configurePresets", "buildPresets", "testPresets")
               for entry in json.loads((ROOT / "CMakePresets.json").read_text()).get(kind, [])}
    cache_variables = " ".join(path.read_text() for path in ROOT.rglob("CMakeLists.txt") if "build" not in path.parts)
    harness, driver = harness_flags(), driver_flags()
    commands = command_blocks()
    assert len(commands) >= 15
    wrong = [f"{page}:{line}: `{command}` {problem}" for page, line, command in commands
             for problem in problems_of(command, harness, driver, presets, cache_variables)]
    assert wrong == []


def test_the_command_line_check_finds_a_renamed_script_preset_or_flag():
    presets, harness, driver = {"dev"}, {"--schedule-runs"}, {"--build-dir"}
    assert problems_of("bash ci/no-such.sh", harness, driver, presets, "") != []
    assert problems_of("cmake --preset nightly", harness, driver, presets, "") != []
    assert problems_of("cmake -S . -DPYASYNC_GONE=ON", harness, driver, presets, "PYASYNC_SANITIZER") != []
    assert problems_of("build/tests/races --schedule-rounds 3", harness, driver, presets, "") != []
    assert problems_of("tools/pyasync-test --build-dir build/dev --schedule-runs 2", harness, driver, presets, "") == []
