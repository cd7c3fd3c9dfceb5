import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Repeatable examples by default (CI); `--hypothesis-profile=explore` looks further afield.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # the plain reference implementations beside the tests

ROOT = HERE.parent

# Kernels through Numba's JIT, as they always were: compiling native modules takes seconds per
# kernel, so only the tests of spikesim.native (test_native.py) switch them on, in a cache of
# their own.
os.environ["SPIKESIM_NATIVE"] = "off"


@pytest.fixture
def models_dir() -> Path:
    return ROOT / "models"
