"""Approved-output checks for the harness and the driver: output is normalised (times, paths,
addresses) and compared with approved/<name>.txt; PYASYNC_APPROVE=1 rewrites the files, to be
reviewed in the diff."""
import os
import pathlib
import re
import sysconfig

APPROVED = pathlib.Path(__file__).parent / "approved"


def normalise(text):
    """Times, absolute paths and addresses vary from run to run, and lines in CPython's own
    modules from one CPython to the next: replace them with placeholders."""
    stdlib = re.escape(sysconfig.get_paths()["stdlib"])
    text = re.sub(rf"{stdlib}/[^\s:'\"]*?(\w+\.py):\d+", r"\1:<cpython line>", text)
    text = re.sub(r"\((\d+) ms( total)?\)", r"(T ms\2)", text)
    text = re.sub(r"finished in [0-9.]+s", "finished in Ts", text)
    text = re.sub(r"/[^\s:'\"]*/(\w+\.(cpp|py))", r"\1", text)
    text = re.sub(r"0x[0-9a-f]+", "0xADDR", text)
    return text


def check_approved(name, text):
    path = APPROVED / f"{name}.txt"
    text = normalise(text)
    if os.environ.get("PYASYNC_APPROVE") == "1":
        path.write_text(text)
    assert path.exists(), f"no approved file {path}: run with PYASYNC_APPROVE=1 and review it"
    assert text == path.read_text()
