"""Checkpoints: everything a run needs to go on exactly as if it had never stopped.

A checkpoint holds the resolved description (the network is rebuilt from it, deterministically
from its seed), the ``State`` arrays (neurons, spikes in flight, traces, weights), the positions
of the input streams and the partial population-rate bin. It is an .npz file written under a
temporary name and renamed, so a checkpoint on disk is always whole.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..build.network import Network
from ..errors import OutputError
from .step import RateBinner, State

FORMAT = 1


@dataclass
class Checkpoint:
    network_yaml: str
    state: State
    input_states: list
    binner_state: dict | None
    output: str | None

    @property
    def step(self) -> int:
        return self.state.step


def save_checkpoint(
    path: str | Path, network: Network, state: State, binner: RateBinner | None, output: str | None = None
) -> None:
    from ..spec import spec_to_yaml

    path = Path(path)
    meta = {
        "format": FORMAT,
        "network_yaml": spec_to_yaml(network.spec),
        "step": state.step,
        "input_states": network.inputs.get_state(),
        "binner_state": binner.get_state() if binner is not None else None,
        "output": output,
    }
    arrays = {f.name: getattr(state, f.name) for f in fields(State) if f.name != "step"}
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"cannot write checkpoint {path}: {err.strerror or err}") from err


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: no such checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in data.files if name != "meta"}
    except (OSError, ValueError, KeyError) as err:
        raise OutputError(f"{path}: not a spikesim checkpoint ({' '.join(str(err).split())})") from None
    if meta.get("format") != FORMAT:
        raise OutputError(f"{path}: checkpoint format {meta.get('format')} is not {FORMAT}")
    state = State(step=int(meta["step"]), **arrays)
    return Checkpoint(meta["network_yaml"], state, meta["input_states"], meta["binner_state"], meta.get("output"))
