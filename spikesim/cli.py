"""The ``spikesim`` command.

Every ``SpikesimError`` is printed as one line and exits 1; usage errors exit 2; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click

from .errors import Interrupted, SpikesimError


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


class _StopOnSignal:
    """SIGINT and SIGTERM ask the run to stop after its current chunk (flushed, file marked
    interrupted) instead of killing it mid-write; a second signal stops at once."""

    def __init__(self):
        self.signum = 0
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum

    def __call__(self) -> int:
        return self.signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _say_when_compiling(quiet: bool):
    """A context in which the first kernel Numba compiles (cache misses only) prints one line, so
    that the seconds a first run spends compiling are not taken for a hang."""
    from . import native

    said = [quiet]

    def say() -> None:
        if not said[0]:
            said[0] = True
            from tqdm import tqdm  # clears and redraws a progress bar around the line

            tqdm.write("spikesim: compiling the kernels for this kind of network (once: they are cached)", file=sys.stderr)

    return native.on_jit_compile(say)


def _compile_native(quiet: bool) -> None:
    """After a run that called kernels through Numba's JIT for want of their native modules:
    compile those modules, so that later runs of this kind of network load them without Numba
    (``spikesim.native``). Once: a kernel that cannot be compiled is not tried again."""
    from . import native

    if not native.pending():
        return
    started = time.perf_counter()
    if not quiet:
        click.echo("spikesim: compiling native kernels for later runs (once, for this kind of network)...", err=True)
    try:
        compiled, failed = native.compile_pending()
    except KeyboardInterrupt:  # the run's data is complete: only the modules are left for next time
        click.echo("spikesim: compiling native kernels interrupted; the next run compiles them", err=True)
        return
    if quiet:
        return
    if failed:
        click.echo(
            f"spikesim: {failed} of {compiled + failed} kernels could not be compiled ahead of time (that needs a C "
            f"compiler and Python's headers); runs use Numba's cached kernels for them. Reasons in {native.cache_dir()}/*.failed",
            err=True,
        )
    else:
        click.echo(f"spikesim: {compiled} native kernels compiled in {time.perf_counter() - started:.1f} s", err=True)


def _simulate_to_file(start, output: Path, quiet: bool, total_steps: int):
    """Run ``start(on_chunk, should_stop)`` with a progress bar and signal handling; exit 130/143
    after an interruption."""
    update, close = _progress(total_steps, not quiet and sys.stderr.isatty())
    try:
        with _StopOnSignal() as stop:
            return start(update, stop)
    except Interrupted as err:
        close()
        click.echo(f"spikesim: {err}; data up to then is in {output}.partial", err=True)
        sys.exit(err.exit_status)
    finally:
        close()


def _report(summary, output: Path, no_plot: bool, plot_path, quiet: bool, name: str, build_s: float,
            build_compile_s: float = 0.0) -> None:
    pictures = []
    if not no_plot:
        from .io.hdf5 import read
        from .plot import save_raster_png, save_traces_png, save_weights_png

        # the snapshots without their synapses; the weights are drawn first and let go, so
        # that their memory and the raster's (millions of spikes) are never needed together
        recording = read(output, weights="values")
        png = Path(plot_path) if plot_path else output.with_suffix(".png")
        weight_pictures = [
            save_weights_png(recording, png.with_name(f"{png.stem}_weights_{conn}{png.suffix}"), conn)
            for conn in recording.weights
        ]
        recording.weights.clear()
        pictures.append(save_raster_png(recording, png))
        variables = sorted({var for by_var in recording.traces.values() for var in by_var})
        for var in variables:
            pictures.append(save_traces_png(recording, png.with_name(f"{png.stem}_{var}{png.suffix}"), variable=var))
        pictures += weight_pictures
    if quiet:
        return
    setup = f"build {build_s:.2f} s"
    compile_s = build_compile_s + summary.compile_s
    if compile_s >= 0.05:  # a first run: Numba compiled kernels for it, and cached them
        setup += f", compiling the kernels {compile_s:.1f} s, once: they are cached for later runs"
    span = f"{summary.resumed_from_ms:g} to {summary.simulated_ms:g} ms" if summary.resumed_from_ms else f"{summary.simulated_ms:g} ms"
    click.echo(f"{name}: {span} simulated in {summary.loop_s:.2f} s ({setup})")
    for pop, size in summary.populations.items():
        n = summary.spike_counts.get(pop, 0)
        click.echo(f"  {pop:<12} {size:>8} neurons {n:>10} spikes {summary.mean_rate_hz(pop):8.2f} Hz")
    click.echo(f"  spikes: {output}")
    for picture in pictures:
        click.echo(f"  plot:   {picture}")


def _run_options(output_help: str, checkpoint_help: str):
    """The options ``run`` and ``resume`` share: where the data and plots go, checkpoints, quiet."""
    options = [
        click.option("-o", "--output", type=click.Path(dir_okay=False), help=output_help),
        click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Raster plot (default: output with .png)."),
        click.option("--no-plot", is_flag=True, help="Do not draw the raster plot."),
        click.option("--checkpoint-every-ms", type=float, help=checkpoint_help),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@main.command()
@click.argument("network", type=click.Path(dir_okay=False))
@_run_options("HDF5 file (default: run.output or NAME.h5).", "Write OUTPUT.ckpt at this interval (see `resume`).")
@click.option("--duration-ms", type=float, help="Override run.duration_ms.")
@click.option("--seed", type=int, help="Override run.seed.")
@click.option("--threads", type=int, help="Override run.threads (threads for large networks; the same results).")
@click.option("--ignore-memory-check", is_flag=True, help="Build even if the network seems not to fit in memory.")
def run(network, output, plot_path, no_plot, duration_ms, seed, threads, checkpoint_every_ms, ignore_memory_check, quiet) -> None:
    """Simulate NETWORK (a YAML file): spikes to HDF5, raster to PNG.

    SIGINT or SIGTERM stop the run after the current chunk: the data so far is flushed to
    OUTPUT.partial, marked interrupted, and the exit status is 130 or 143."""
    from . import api
    from .build import build
    from .build.memory import return_freed_arrays_to_the_system, reuse_freed_arrays_during_the_run
    from .spec import load, with_run

    return_freed_arrays_to_the_system()  # this process is the run's: keep the build's peak from lingering
    spec = with_run(load(network), duration_ms=duration_ms, seed=seed, threads=threads)
    output = Path(output or spec.run.output or f"{Path(network).stem}.h5")
    with _say_when_compiling(quiet):
        started = time.perf_counter()
        with api.compile_timer() as compiling:  # the build's own kernels (connection rules)
            net = build(spec, memory_check=not ignore_memory_check)
        build_compile_s = api.compile_seconds(compiling)
        build_s = time.perf_counter() - started - build_compile_s
        reuse_freed_arrays_during_the_run()  # the build's temporaries are gone: chunks reuse memory
        summary = _simulate_to_file(
            lambda update, stop, net=net: api.run_to_file(
                net, output, on_chunk=update, should_stop=stop, checkpoint_every_ms=checkpoint_every_ms,
                consume_network=True,
            ),
            output,
            quiet,
            net.n_steps,
        )
    del net  # the network's memory goes back before the plots read the file
    _report(summary, output, no_plot, plot_path, quiet, spec.name, build_s, build_compile_s)
    _compile_native(quiet)


@main.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@_run_options("HDF5 file (default: the run's own output).", "Keep writing checkpoints at this interval.")
@click.option("--threads", type=int, help="Override run.threads (the same results with any number).")
def resume(checkpoint, output, plot_path, no_plot, checkpoint_every_ms, threads, quiet) -> None:
    """Continue an interrupted run from its CHECKPOINT (OUTPUT.ckpt) to the end."""
    from . import api
    from .build.memory import return_freed_arrays_to_the_system, reuse_freed_arrays_during_the_run
    from .engine.checkpoint import load_checkpoint

    return_freed_arrays_to_the_system()  # as `run`: the rebuild's temporaries do not linger

    ck = load_checkpoint(checkpoint)  # read once: api.resume is handed it
    target = api.resume_output(checkpoint, ck, output)
    from .spec import spec_from_yaml, with_run

    spec = with_run(spec_from_yaml(ck.network_yaml), threads=threads)
    total = int(round(spec.run.duration_ms / spec.run.dt_ms))
    built_at = []

    def built() -> None:
        built_at.append(time.perf_counter())
        reuse_freed_arrays_during_the_run()  # as `run` after its build

    with _say_when_compiling(quiet), api.compile_timer() as compiling:
        started = time.perf_counter()
        summary = _simulate_to_file(
            lambda update, stop: api.resume(
                checkpoint, target, on_chunk=update, should_stop=stop, checkpoint_every_ms=checkpoint_every_ms, loaded=ck,
                on_built=built, threads=threads,
            ),
            target,
            quiet,
            total,
        )
    # the rebuild: up to on_built, without what Numba compiled there (all compiling outside the run's)
    build_compile_s = api.compile_seconds(compiling) - summary.compile_s
    _report(summary, target, no_plot, plot_path, quiet, spec.name, built_at[0] - started - build_compile_s, build_compile_s)
    _compile_native(quiet)


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
@click.option("--t-start-ms", type=float, help="Start of the raster's time window.")
@click.option("--t-stop-ms", type=float, help="End of the raster's time window.")
@click.option("--raster-only", is_flag=True, help="Only the raster and the population rate.")
def plot(file, output, t_start_ms, t_stop_ms, raster_only) -> None:
    """Draw an output FILE: raster, rates, ISI and CV histograms, traces and weights."""
    from .io.hdf5 import read
    from .plot import save_raster_png, save_summary

    recording = read(file, weights="values")  # the pictures need no synapse layout
    out = output or str(Path(file).with_suffix(".png"))
    if raster_only:
        click.echo(save_raster_png(recording, out, t_start_ms=t_start_ms, t_stop_ms=t_stop_ms))
    else:
        click.echo(save_summary(recording, out, t_start_ms, t_stop_ms))


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def info(file) -> None:
    """Summarise an output FILE: populations, spikes, rates, status, versions."""
    from .io.hdf5 import read
    from .summary import describe

    click.echo(describe(read(file, weights="values"), file))


def _register() -> None:
    # Commands that live beside the parts they drive (the Brian2 bridge imports brian2 only
    # when one of them runs).
    from .bridge.commands import export, validate
    from .interop.commands import export_nwb, schema
    from .sweep.commands import sweep

    for command in (validate, export, export_nwb, schema, sweep):
        main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
