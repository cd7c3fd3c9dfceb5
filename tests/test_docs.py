"""The YAML in the documentation is real: every example that is a whole network (it has
`populations:`) validates, and those in docs/yaml/ also build and pass the JSON Schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import spikesim
from spikesim.build import build

ROOT = Path(__file__).parent.parent
DOC_PAGES = sorted((ROOT / "docs" / "yaml").glob("*.md"))
SECTIONS = ("run", "populations", "connections", "inputs", "record", "plasticity")


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", path.read_text(), flags=re.DOTALL | re.MULTILINE)


def whole_networks(path: Path) -> list[str]:
    return [block for block in yaml_blocks(path) if re.search(r"^populations:", block, flags=re.MULTILINE)]


def test_a_page_per_section():
    names = {p.stem for p in DOC_PAGES}
    assert set(SECTIONS) <= names
    for section in SECTIONS:
        assert whole_networks(ROOT / "docs" / "yaml" / f"{section}.md"), f"{section}.md has no whole example"


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_doc_examples_validate_and_build(page):
    blocks = yaml_blocks(page)
    for block in blocks:
        yaml.safe_load(block)  # every block is YAML, fragments too
    for block in whole_networks(page):
        spec = spikesim.spec_from_yaml(block, base_dir=page.parent)
        network = build(spec)
        assert network.neurons.n == sum(p.size for p in spec.populations.values())


def test_doc_examples_pass_the_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from spikesim.spec.schema import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    for page in DOC_PAGES:
        for block in whole_networks(page):
            errors = [e.message for e in validator.iter_errors(yaml.safe_load(block))]
            assert errors == [], (page.name, errors)


def test_readme_networks_validate():
    blocks = whole_networks(ROOT / "README.md")
    assert blocks
    for block in blocks:
        spikesim.spec_from_yaml(block, base_dir=ROOT)
