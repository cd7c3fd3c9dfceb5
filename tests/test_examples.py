"""The example scripts run as a user would run them, and produce what they say."""

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize(
    "script,files",
    [
        ("quickstart.py", ["izhikevich2003.h5", "izhikevich2003.png"]),
        ("build_in_python.py", ["ei-sparse.png", "ei-sparse-v.png"]),
    ],
)
def test_example_runs(tmp_path, script, files):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "Hz" in done.stdout
    for name in files:
        path = tmp_path / name
        assert path.exists() and path.stat().st_size > 1000, name
