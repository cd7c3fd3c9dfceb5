"""``spikesim sweep SWEEP.yaml``: run a grid of parameter values and seeds on Dask."""

from __future__ import annotations

import math
import sys

import click


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Output directory (default: the file's output).")
@click.option("--scheduler", help="Address of a running Dask scheduler (default: the file's, else a local cluster).")
@click.option("-n", "--n-workers", type=click.IntRange(min=1), help="Worker processes of the local cluster.")
@click.option("--dry-run", is_flag=True, help="Validate and list the jobs; run nothing.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the paths written.")
def sweep(sweep_file, output, scheduler, n_workers, dry_run, quiet) -> None:
    """Run the jobs of SWEEP.yaml (grid values x seeds) not yet complete; write one directory per
    job, summary.csv and a plot of the sweep's statistic."""
    from ..errors import SpikesimError
    from .run import SPIKES_FILE, run_sweep
    from .spec import load_sweep

    loaded = load_sweep(sweep_file, output=output)
    if dry_run:
        for job in loaded.jobs:
            done = (loaded.output_dir / job.name / SPIKES_FILE).exists()
            click.echo(f"{'complete' if done else 'to run':<9} seed {job.seed:<20} {job.name}")
        click.echo(f"{len(loaded.jobs)} jobs into {loaded.output_dir}")
        return

    def progress(done: int, total: int, row: dict) -> None:
        if quiet:
            return
        stat = row.get(loaded.statistic, math.nan)
        extra = row["error"] if row["status"] == "failed" else f"{loaded.statistic} {_fmt(stat)}"
        wall = row.get("wall_s", math.nan)
        timing = f" in {wall:.2f} s" if row["status"] == "ran" and not math.isnan(wall) else ""
        click.echo(f"[{done}/{total}] {row['status']}{timing}: {row['job']}: {extra}", err=True)

    result = run_sweep(loaded, scheduler=scheduler, n_workers=n_workers, on_job=progress)
    if not quiet:
        click.echo(summary_text(result))
    click.echo(f"table: {result.table_path}")
    if result.plot_path is not None:
        click.echo(f"plot:  {result.plot_path}")
    if result.failed:
        raise SpikesimError(f"{len(result.failed)} of {len(result.rows)} jobs failed (see the error column of "
                            f"{result.table_path}); rerun to retry them")
    sys.stdout.flush()


def summary_text(result) -> str:
    """The statistic per grid point (mean, sd and count over the seeds), one line each."""
    sweep = result.sweep
    stat = sweep.statistic
    points: dict[tuple, list[float]] = {}
    for row in result.rows:
        key = tuple(_fmt(row[p]) for p in sweep.parameters)
        values = points.setdefault(key, [])
        if row["status"] != "failed" and not math.isnan(float(row[stat])):
            values.append(float(row[stat]))
    header = [*sweep.parameters, f"{stat} (mean)", "sd", "jobs"]
    lines = []
    for key, values in points.items():
        mean = sum(values) / len(values) if values else math.nan
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) if values else math.nan
        lines.append([*key, _fmt(mean), _fmt(sd), str(len(values))])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    text = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    text += ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in lines]
    counts = ", ".join(f"{result.count(s)} {s}" for s in ("ran", "skipped", "failed") if result.count(s))
    return "\n".join(text + [f"{len(result.rows)} jobs: {counts}"])


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (dict, list)):
        from .spec import _value_text

        return _value_text(value)
    return str(value)
