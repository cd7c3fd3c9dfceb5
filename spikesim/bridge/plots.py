"""The overlaid raster of two recordings (spikesim and Brian2). Imports matplotlib lazily.

Neurons are stacked as in ``spikesim.plot``: declaration order, first population at the bottom
(row = global id of ``Recording.all_spikes``). Spikes of ``a`` are small filled dots, spikes of
``b`` open circles around them: a spike both sides fired at the same step shows as a dot in a
circle, a lone dot or a lone circle is a disagreement. The first disagreement is marked.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import OutputError
from ..recording import Recording

DPI = 120


def overlay_raster(
    a: Recording,
    b: Recording,
    path: str | Path,
    *,
    labels: tuple[str, str] = ("spikesim", "brian2"),
    start_ms: float | None = None,
    stop_ms: float | None = None,
    first_disagreement_ms: float | None = None,
    title: str | None = None,
) -> Path:
    """Draw both rasters in one image at ``path`` (png, svg or pdf by extension); returns the path.

    ``start_ms``/``stop_ms`` restrict the time axis; ``first_disagreement_ms`` (e.g. from
    ``spikesim.compare.compare``) draws a vertical line there.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    ta, ia = a.all_spikes()
    tb, ib = b.all_spikes()
    lo = 0.0 if start_ms is None else start_ms
    hi = max(a.simulated_ms, b.simulated_ms) if stop_ms is None else stop_ms
    keep_a = (ta >= lo) & (ta <= hi)
    keep_b = (tb >= lo) & (tb <= hi)
    fig = Figure(figsize=(10, 6), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    many = keep_a.sum() + keep_b.sum() > 20000
    ax.scatter(tb[keep_b], ib[keep_b], s=14 if not many else 4, facecolors="none", edgecolors="tab:orange",
               linewidths=0.7, label=labels[1], rasterized=many)
    ax.scatter(ta[keep_a], ia[keep_a], s=3 if not many else 1, color="black", linewidths=0, label=labels[0],
               rasterized=many)
    offset = 0
    for pop, size in a.populations.items():
        if offset:
            ax.axhline(offset - 0.5, color="0.7", linewidth=0.6)
        ax.text(1.005, (offset + size / 2) / max(1, sum(a.populations.values())), pop, transform=ax.transAxes,
                va="center", fontsize=8)
        offset += size
    if first_disagreement_ms is not None:
        ax.axvline(first_disagreement_ms, color="tab:red", linewidth=1.0,
                   label=f"first disagreement {first_disagreement_ms:g} ms")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_title(title or f"{a.info.name}: {labels[0]} (dots) and {labels[1]} (circles)")
    ax.legend(loc="upper right", fontsize=8, markerscale=2)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as error:
        raise OutputError(f"cannot write {path}: {error}") from error
    return path


__all__ = ["overlay_raster"]
