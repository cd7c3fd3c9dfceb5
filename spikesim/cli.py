"""The ``spikesim`` command.

Every ``SpikesimError`` is printed as one line and exits 1; usage errors exit 2; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .errors import SpikesimError


class _Group(click.Group):
    """Turns spikesim's own errors into one line and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpikesimError as err:
            if ctx.params.get("debug") or ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"spikesim: error: {err}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.version_option(package_name="spikesim")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """spikesim: spiking networks of Izhikevich neurons, from a YAML description."""
    ctx.obj = {"debug": debug}


def _progress(total: int, enabled: bool):
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="step", desc="simulating", file=sys.stderr, leave=False)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


@main.command()
@click.argument("network", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="HDF5 file (default: run.output or NAME.h5).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Raster plot (default: output with .png).")
@click.option("--no-plot", is_flag=True, help="Do not draw the raster plot.")
@click.option("--duration-ms", type=float, help="Override run.duration_ms.")
@click.option("--seed", type=int, help="Override run.seed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def run(network, output, plot_path, no_plot, duration_ms, seed, quiet) -> None:
    """Simulate NETWORK (a YAML file): spikes to HDF5, raster to PNG."""
    from . import api
    from .build import build
    from .spec import load

    spec = load(network)
    overrides = {}
    if duration_ms is not None:
        overrides["duration_ms"] = duration_ms
    if seed is not None:
        overrides["seed"] = seed
    if overrides:
        from .spec import spec_from_dict

        data = spec.model_dump(mode="json", exclude_none=True)
        data["run"].update(overrides)
        spec = spec_from_dict(data)
    output = Path(output or spec.run.output or f"{Path(network).stem}.h5")
    started = time.perf_counter()
    net = build(spec)
    built = time.perf_counter()
    update, close = _progress(net.n_steps, not quiet and sys.stderr.isatty())
    try:
        recording = api.run(net, output, on_chunk=update)
    except KeyboardInterrupt:
        close()
        click.echo(f"spikesim: interrupted; data up to the last flush is in {output}.partial", err=True)
        sys.exit(130)
    finally:
        close()
    finished = time.perf_counter()
    pictures = []
    if not no_plot:
        from .plot import save_raster_png, save_traces_png, save_weights_png

        png = Path(plot_path) if plot_path else output.with_suffix(".png")
        pictures.append(save_raster_png(recording, png))
        variables = sorted({var for by_var in recording.traces.values() for var in by_var})
        for var in variables:
            pictures.append(save_traces_png(recording, png.with_name(f"{png.stem}_{var}{png.suffix}"), variable=var))
        for name in recording.weights:
            pictures.append(save_weights_png(recording, png.with_name(f"{png.stem}_weights_{name}{png.suffix}"), name))
    if not quiet:
        click.echo(f"{spec.name}: {spec.run.duration_ms:g} ms simulated in {finished - built:.2f} s "
                   f"(build {built - started:.2f} s)")
        for pop, size in recording.populations.items():
            n = len(recording.spikes[pop]) if pop in recording.spikes else 0
            click.echo(f"  {pop:<12} {size:>8} neurons {n:>10} spikes {recording.mean_rate_hz(pop):8.2f} Hz")
        click.echo(f"  spikes: {output}")
        for picture in pictures:
            click.echo(f"  plot:   {picture}")


@main.command()
@click.argument("network", type=click.Path(dir_okay=False))
def check(network) -> None:
    """Validate NETWORK and build it without simulating."""
    from .build import build
    from .spec import load

    net = build(load(network))
    click.echo(
        f"{net.spec.name}: valid; {net.neurons.n} neurons, {net.synapses.n_synapses} synapses, "
        f"{net.n_steps} steps of {net.dt_ms:g} ms"
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Image file (PNG, SVG or PDF).")
def plot(file, output) -> None:
    """Draw the raster and population rate of an output FILE."""
    from .io.hdf5 import read
    from .plot import save_raster_png

    recording = read(file)
    click.echo(save_raster_png(recording, output or str(Path(file).with_suffix(".png"))))


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def info(file) -> None:
    """Summarise an output FILE: populations, spikes, rates, status."""
    from .io.hdf5 import read

    rec = read(file)
    i = rec.info
    click.echo(f"{file}: {i.name}, status {rec.status}, {rec.simulated_ms:g} ms of {i.duration_ms:g} ms, "
               f"dt {i.dt_ms:g} ms, seed {i.seed}")
    for pop, size in rec.populations.items():
        n = len(rec.spikes[pop]) if pop in rec.spikes else 0
        click.echo(f"  {pop:<12} {size:>8} neurons {n:>10} spikes {rec.mean_rate_hz(pop):8.2f} Hz")
    if i.versions:
        click.echo("  " + ", ".join(f"{k} {v}" for k, v in i.versions.items()))


if __name__ == "__main__":  # pragma: no cover
    main()
