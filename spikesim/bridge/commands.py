"""The ``validate`` and ``export`` commands (registered on ``spikesim.cli.main``).

    spikesim validate net.yaml [--duration-ms X] [--target numpy|cython] [--overlay out.png]
    spikesim export brian2 net.yaml [-o net_brian2.py]

``validate`` runs the network in spikesim and in Brian2 (``spikesim.bridge.brian2``) from the
same built network and input, prints the first disagreement (or full agreement), the rates of
both sides, the spike-count correlation and the unmatched-spike distance, and for every
connection whose weights are recorded (every plastic connection is) the agreement of the
weights (at every snapshot; at the last one the largest difference, the fraction of equal
weights, the means and the Kolmogorov-Smirnov distance of the distributions), and exits 1 when
the tolerances of ``spikesim.compare`` are exceeded.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import click

from ..errors import SpikesimError


def _spec(path: str, duration_ms: float | None):
    from ..spec import load, spec_from_dict

    spec = load(path)
    if duration_ms is not None:
        data = spec.model_dump(mode="json", exclude_none=True)
        data["run"]["duration_ms"] = duration_ms
        spec = spec_from_dict(data)
    return spec


def _require_brian2() -> None:
    # find_spec, not import: spikesim.bridge.brian2 stays the only module that imports brian2
    from importlib.util import find_spec

    if find_spec("brian2") is None:
        raise SpikesimError("this command needs Brian2; install it with: pip install 'brian2==2.9.0'")


@click.command()
@click.argument("network", type=click.Path(dir_okay=False))
@click.option("--duration-ms", type=float, help="Override run.duration_ms.")
@click.option("--target", type=click.Choice(["numpy", "cython"]), default="numpy", show_default=True,
              help="Brian2 code-generation target (cython compiles on first use: minutes).")
@click.option("--overlay", type=click.Path(dir_okay=False), help="Draw both rasters overlaid into this image.")
@click.option("--window-ms", type=float, help="Coincidence window of the unmatched-spike distance (default: dt).")
@click.option("--rate-rtol", type=float, default=0.05, show_default=True, help="Relative rate tolerance.")
@click.option("--rate-atol-hz", type=float, default=0.5, show_default=True, help="Absolute rate tolerance (Hz).")
@click.option("--min-correlation", type=float, default=0.5, show_default=True,
              help="Smallest spike-count correlation accepted.")
@click.option("--max-unmatched", type=float, default=1.0, show_default=True,
              help="Largest fraction of unmatched spikes accepted.")
@click.option("--weight-atol", type=float, default=math.inf,
              help="Largest difference of a final weight accepted (default: not checked).")
@click.option("--max-weight-ks", type=float, default=0.1, show_default=True,
              help="Largest Kolmogorov-Smirnov distance of the final weight distributions accepted.")
@click.option("--exact", is_flag=True, help="Require identical spike trains and weights.")
def validate(network, duration_ms, target, overlay, window_ms, rate_rtol, rate_atol_hz, min_correlation,
             max_unmatched, weight_atol, max_weight_ks, exact) -> None:
    """Run NETWORK in spikesim and in Brian2 and compare the spikes (exit 1 beyond tolerances)."""
    from ..api import run
    from ..build import build
    from ..compare import Tolerances, compare

    _require_brian2()
    from .brian2 import run_brian2

    net = build(_spec(network, duration_ms))
    started = time.perf_counter()
    ours = run(net)
    middle = time.perf_counter()
    theirs = run_brian2(net, target=target)
    finished = time.perf_counter()
    tolerances = Tolerances(rate_rtol, rate_atol_hz, min_correlation, max_unmatched, exact, weight_atol, max_weight_ks)
    result = compare(ours, theirs, window_ms=window_ms, labels=("spikesim", "brian2"), tolerances=tolerances)
    click.echo(
        f"{net.spec.name}: {net.n_steps * net.dt_ms:g} ms, dt {net.dt_ms:g} ms; spikesim {middle - started:.2f} s, "
        f"brian2 ({target}) {finished - middle:.2f} s"
    )
    click.echo(result.summary())
    if overlay:
        from ..plot import overlay_raster

        click.echo(f"  overlay: {overlay_raster(ours, theirs, overlay, first_disagreement_ms=result.first_disagreement_ms)}")
    if not result.ok:
        sys.exit(1)


@click.group()
def export() -> None:
    """Write a network for another simulator."""


@export.command("brian2")
@click.argument("network", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Script to write (default: NAME_brian2.py beside NETWORK); the arrays go to the same name .npz.")
@click.option("--duration-ms", type=float, help="Override run.duration_ms.")
def export_brian2(network, output, duration_ms) -> None:
    """Write NETWORK as a standalone Brian2 script and the arrays it loads (.npz beside it).

    The script needs only numpy and brian2: `python SCRIPT [--target cython] [-o spikes.npz]`.
    """
    import numpy as np

    from ..build import build
    from ..errors import OutputError
    from .script import brian2_script

    output = Path(output or Path(network).with_name(f"{Path(network).stem}_brian2.py"))
    npz = output.with_suffix(".npz")
    script = brian2_script(build(_spec(network, duration_ms)), npz.name)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(npz, **script.arrays)
        output.write_text(script.source)
    except OSError as error:
        raise OutputError(f"cannot write {output}: {error.strerror}") from None
    click.echo(f"script: {output}\narrays: {npz}\nrun it with: python {output} [--target cython]")


__all__ = ["export", "validate"]
