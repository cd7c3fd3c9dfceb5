import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # the plain reference implementations beside the tests

ROOT = HERE.parent


@pytest.fixture
def models_dir() -> Path:
    return ROOT / "models"
