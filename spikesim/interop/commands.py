"""Commands for other tools: ``spikesim schema`` (JSON Schema of the YAML format) and
``spikesim export-nwb`` (a result file as NWB). Registered on the ``spikesim`` group in cli.py."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: print it).")
def schema(output) -> None:
    """Print the JSON Schema of network YAML files (for editors' completion and checking)."""
    from ..spec.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from ..errors import OutputError

    try:
        Path(output).write_text(text)
    except OSError as error:
        raise OutputError(f"cannot write {output}: {error.strerror}") from error
    click.echo(output)


@click.command("export-nwb")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="NWB file (default: FILE with .nwb).")
def export_nwb(file, output) -> None:
    """Write the spikes (Units table) and traces of an output FILE to an NWB file (needs pynwb)."""
    from ..io.hdf5 import read
    from .nwb import write_nwb

    recording = read(file, weights="none")  # NWB gets spikes and traces
    click.echo(write_nwb(recording, output or Path(file).with_suffix(".nwb")))
