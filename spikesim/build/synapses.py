"""The compact synapse layout the kernels read.

Synapses are split into *groups*: all synapses that act on the same input channel (current pulse,
voltage jump, or one exponential current per time constant) with the same plasticity rule; a
static connection with one constant weight joins a group of that weight, where a group of its
own saves memory (``_group_keys``). Within a group they are sorted by (source, delay) in CSR
form. A group keeps pointers only for its own sources, first_source[g] .. first_source[g] +
n_sources[g] - 1 (the lowest to the highest that has synapses in it), and its own delays, 1 ..
D_g = group_max_delay[g]: the synapses of source j with delay d steps are
``row_ptr[p] .. row_ptr[p + 1]`` with p = ptr_start[g] + (j - first_source[g]) * D_g + d - 1
(global offsets into ``post``; ``segment``), all groups' pointers in one array. The weights are
stored per synapse, or once for a static group whose connections have one constant weight. A
static synapse costs 12 bytes (int32 target + float64 weight), or 4 with a constant weight; the
pointers cost 4 bytes per source and delay step of each group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..native import kernel
from .connectivity import Synapses
from .plasticity import N_PARAMS, SPNET, STATIC

CHANNEL_CURRENT = 0  # weight added to I for the arrival step (Izhikevich's code)
CHANNEL_VOLTAGE = 1  # v += weight at arrival (NEST's izhikevich)
FIRST_EXP_CHANNEL = 2  # channel 2 + k: exponential current with the k-th time constant


@dataclass
class SynapseTable:
    """All synapses of the network in the kernel layout (see the module docstring)."""

    n_neurons: int
    max_delay_steps: int  # D >= 1
    row_ptr: np.ndarray  # int32 (int64 beyond 2**31 synapses), (sum of n_sources * D_g + 1 over the groups,)
    # where each group's pointers are: ptr_start, first_source, n_sources (columns; see the module docstring)
    group_pointers: np.ndarray  # int64 (G, 3)
    post: np.ndarray  # int32 (S,)
    # weights: a static group whose connections all have one constant weight keeps that number
    # once (group_weight[g]; NaN for the other groups); the others keep a weight per synapse in
    # weight_store, synapse s of group g at s - group_weight_offset[g]. ``weight`` gives them all.
    weight_store: np.ndarray  # float64 (synapses of the groups without a constant weight,)
    group_weight: np.ndarray  # float64 (G,)
    group_weight_offset: np.ndarray  # int64 (G,)
    group_max_delay: np.ndarray  # int64 (G,): the longest delay (steps) in the group; its pointers beyond are empty
    group_channel: np.ndarray  # int64 (G,)
    group_connections: list[list[int]]  # connection indices per group
    # for every connection: (group, positions of its synapses in post/weight, in generation order;
    # a slice when they are one run, as when a connection fills its group in source order)
    connection_slots: list[tuple[int, np.ndarray | slice]]
    # plasticity (see build.plasticity): rule code, parameter row and update interval per group;
    # plastic groups own a trace slot (group_trace >= 0) and an index of incoming synapses:
    # the synapses of group g onto neuron i are in_syn[in_ptr[g, i] : in_ptr[g, i + 1]], with
    # their source and delay in one key (``incoming_key``; ``incoming_sources_delays()``).
    group_rule: np.ndarray  # int64 (G,)
    group_params: np.ndarray  # float64 (G, N_PARAMS)
    group_update_steps: np.ndarray  # int64 (G,)
    group_trace: np.ndarray  # int64 (G,)
    in_ptr: np.ndarray  # int64 (G, N + 1)
    in_syn: np.ndarray  # int32 (plastic synapses,); int64 beyond 2**31 synapses
    in_key: np.ndarray  # int32: delay * N - source; int64 where (D + 1) * N reaches 2**31

    @property
    def n_traces(self) -> int:
        return int((self.group_trace >= 0).sum())

    @property
    def plastic(self) -> bool:
        return bool(np.any(self.group_rule != STATIC))

    @property
    def n_synapses(self) -> int:
        return len(self.post)

    @property
    def n_groups(self) -> int:
        return len(self.group_rule)

    def pointers(self, group: int) -> np.ndarray:
        """The pointers of one group (a view): n_sources * D_g + 1 of them."""
        start, _, n_sources = (int(x) for x in self.group_pointers[group])
        return self.row_ptr[start : start + n_sources * int(self.group_max_delay[group]) + 1]

    def span(self, group: int) -> tuple[int, int]:
        """The first synapse of a group and one past its last."""
        ptr = self.pointers(group)
        return int(ptr[0]), int(ptr[-1])

    def spans(self) -> np.ndarray:
        """``span`` of every group: int64 (G, 2)."""
        return np.array([self.span(g) for g in range(self.n_groups)], np.int64).reshape(-1, 2)

    def synapse_groups(self) -> np.ndarray:
        """The group of every synapse."""
        out = np.zeros(self.n_synapses, np.int64)
        for g, (lo, hi) in enumerate(self.spans()):
            out[lo:hi] = g
        return out

    def segment_source_delay(self, group: int, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source and delay (steps) of segments of a group: indices into its pointers."""
        d = max(1, int(self.group_max_delay[group]))
        return int(self.group_pointers[group, 1]) + segment // d, segment % d + 1

    def segment_sources_delays(self, group: int) -> tuple[np.ndarray, np.ndarray]:
        """Source and delay (steps) of each (source, delay) segment of a group's pointers."""
        return self.segment_source_delay(group, np.arange(len(self.pointers(group)) - 1))

    def mean_run_length(self, block: int = 1 << 20) -> float:
        """The mean number of synapses a spike reaches at one delay in one group: the synapses
        over the (source, delay) segments that have any (0.0 without synapses). Counted in
        blocks of ``block`` pointers, so that nothing the size of the pointers is made."""
        runs = 0
        for g in range(self.n_groups):
            ptr = self.pointers(g)
            for lo in range(0, len(ptr) - 1, block):
                seg = ptr[lo : lo + block + 1]
                runs += int(np.count_nonzero(seg[1:] != seg[:-1]))
        return self.n_synapses / runs if runs else 0.0

    @property
    def weight(self) -> np.ndarray:
        """The weight of every synapse in table order (a new array: changing it changes nothing)."""
        out = np.empty(self.n_synapses)
        for g, (lo, hi) in enumerate(self.spans()):
            out[lo:hi] = self.select_weights(self.weight_store, g, slice(lo, hi))
        return out

    def select_weights(self, store: np.ndarray, group: int, selection: np.ndarray | slice) -> np.ndarray:
        """The weights of the synapses of ``group`` at the table positions ``selection``, with
        ``store`` in the place of ``weight_store`` (a run's weights): a view for a slice of
        stored weights, a read-only broadcast view for a constant weight."""
        if not np.isnan(self.group_weight[group]):
            return np.broadcast_to(self.group_weight[group], (selection_size(selection),))
        off = int(self.group_weight_offset[group])
        if isinstance(selection, slice):
            return store[selection.start - off : selection.stop - off]
        return store[np.asarray(selection) - off]

    @property
    def derivative_range(self) -> tuple[int, int]:
        """The synapses that need spnet's derivative: from the first to the last synapse of the
        spnet groups ((0, 0) without spnet). The derivative of synapse s is at s - start."""
        spnet = np.nonzero(self.group_rule == SPNET)[0]
        if len(spnet) == 0:
            return 0, 0
        spans = self.spans()[spnet]
        return int(spans[:, 0].min()), int(spans[:, 1].max())

    def delays(self) -> np.ndarray:
        """Delay in steps of every synapse (derived from the pointers, for inspection and tests)."""
        out = np.empty(self.n_synapses, np.int64)
        for g, (lo, hi) in enumerate(self.spans()):
            out[lo:hi] = np.repeat(self.segment_sources_delays(g)[1], np.diff(self.pointers(g)))
        return out

    def incoming_sources_delays(self) -> tuple[np.ndarray, np.ndarray]:
        """Source and delay (steps) of every entry of the incoming index."""
        return incoming_source_delay(self.in_key, self.n_neurons)

    def sources(self) -> np.ndarray:
        """Source neuron of every synapse."""
        out = np.empty(self.n_synapses, np.int64)
        for g, (lo, hi) in enumerate(self.spans()):
            out[lo:hi] = np.repeat(self.segment_sources_delays(g)[0], np.diff(self.pointers(g)))
        return out


def _as_run(position: np.ndarray) -> np.ndarray | slice:
    """``position`` as a slice when it is start, start + 1, ... (the plain twin of run_start)."""
    n = len(position)
    if n == 0:
        return position
    start = int(position[0])
    block = 1 << 20
    for lo in range(0, n, block):
        part = position[lo : lo + block]
        if not np.array_equal(part, np.arange(start + lo, start + lo + len(part))):
            return position
    return slice(start, start + n)


def selection_size(selection: np.ndarray | slice) -> int:
    """How many table positions an index array or a slice (with start and stop) selects."""
    return selection.stop - selection.start if isinstance(selection, slice) else len(selection)


def _constant_of(weight: np.ndarray) -> float | None:
    """The weight of a connection whose weights are one constant: a broadcast view of one
    number, as ``connect`` makes for a constant (None otherwise, and for no synapses)."""
    return float(weight[0]) if len(weight) and weight.strides[0] == 0 else None


def _constant_weight(weights: list[np.ndarray]) -> float:
    """The one weight of a group whose connections all have the same constant weight; NaN
    otherwise."""
    values = {_constant_of(w) for w in weights if len(w)}
    return values.pop() if len(values) == 1 and None not in values else np.nan


def _group_keys(per_connection, channels, rule_keys, rules, pointers_per_group) -> list[tuple[int, str, float | None]]:
    """The group of each connection: its channel and plasticity rule, and for a static connection
    with a constant weight that weight, where a group of its own saves memory (8 bytes per
    synapse against, at most, 4 bytes of pointers per neuron and delay step); otherwise None
    (weights stored per synapse, with the other connections of that channel and rule)."""
    keys = []
    for i, (channel, rule) in enumerate(zip(channels, rule_keys)):
        static = rules[rule][0] == STATIC
        keys.append((channel, rule, _constant_of(per_connection[i].weight) if static else None))
    size: dict[tuple, int] = {}
    for key, syn in zip(keys, per_connection):
        size[key] = size.get(key, 0) + len(syn)
    worth = {key: key[2] is None or 8 * n > 4 * pointers_per_group for key, n in size.items()}
    return [key if worth[key] else (key[0], key[1], None) for key in keys]


def build_table(
    n_neurons: int,
    per_connection: list[Synapses | None],
    channels: list[int],
    rule_keys: list[str],
    rules: dict[str, tuple[int, np.ndarray, int]],
    keep_positions: list[bool],
) -> SynapseTable:
    """Group the connections by (channel, plasticity rule, constant weight: ``_group_keys``) and
    lay their synapses out by (source, delay). ``rules`` maps a rule key to (code, parameter row, update steps);
    ``keep_positions[i]`` keeps where the synapses of connection i went (to read their weights).
    Consumes ``per_connection``: each entry is set to None once its synapses are placed."""
    # the longest delay of each connection (0 without synapses): of the network, and of each group
    longest = [int(s.delay_steps.max()) if len(s.delay_steps) else 0 for s in per_connection]
    max_delay = max(longest + [1])
    keys = _group_keys(per_connection, channels, rule_keys, rules, n_neurons * max_delay + 1)
    group_of_key: dict[tuple[int, str, float | None], int] = {}
    for key in keys:
        group_of_key.setdefault(key, len(group_of_key))
    n_groups = max(1, len(group_of_key))
    group_connections: list[list[int]] = [[] for _ in range(n_groups)]
    for i, key in enumerate(keys):
        group_connections[group_of_key[key]].append(i)
    group_channel = np.zeros(n_groups, np.int64)
    group_rule = np.zeros(n_groups, np.int64)
    group_params = np.zeros((n_groups, N_PARAMS))
    group_update_steps = np.zeros(n_groups, np.int64)
    group_trace = np.full(n_groups, -1, np.int64)
    for (channel, key, _), g in group_of_key.items():
        group_channel[g] = channel
        group_rule[g], group_params[g], group_update_steps[g] = rules[key]
        if group_rule[g] != STATIC:
            group_trace[g] = int((group_trace >= 0).sum())

    n_total = sum(len(s) for s in per_connection)
    index_dtype = np.int32 if n_total < 2**31 else np.int64
    post = np.empty(n_total, np.int32)
    group_weight = np.full(n_groups, np.nan)
    for g, members in enumerate(group_connections):
        if group_rule[g] == STATIC:
            group_weight[g] = _constant_weight([per_connection[i].weight for i in members])
    group_size = [sum(len(per_connection[i]) for i in members) for members in group_connections]
    group_max_delay = np.array([max([longest[i] for i in members] + [0]) for members in group_connections], np.int64)
    # each group's pointers: for its sources (the lowest to the highest with synapses in it) and
    # its delays; int32 while the synapses are fewer than 2**31: 4 bytes per source and delay step
    group_pointers = np.zeros((n_groups, 3), np.int64)
    for g, members in enumerate(group_connections):
        sources = [per_connection[i].pre for i in members if len(per_connection[i])]
        if sources:
            first = min(int(pre.min()) for pre in sources)
            group_pointers[g, 1:] = first, max(int(pre.max()) for pre in sources) + 1 - first
    n_pointers = group_pointers[:, 2] * group_max_delay + 1
    group_pointers[1:, 0] = np.cumsum(n_pointers)[:-1]
    row_ptr = np.zeros(int(n_pointers.sum()), index_dtype)
    stored = np.isnan(group_weight)
    weight_store = np.empty(sum(size for size, keep in zip(group_size, stored) if keep), np.float64)
    no_weights = np.zeros(0, np.float64)
    group_weight_offset = np.zeros(n_groups, np.int64)
    slots: list[tuple[int, np.ndarray | slice]] = [(0, np.zeros(0, index_dtype))] * len(per_connection)
    offset = 0
    skipped = 0  # synapses of the constant-weight groups so far: no stored weight
    for g, members in enumerate(group_connections):
        group_weight_offset[g] = skipped
        d, first = int(group_max_delay[g]), int(group_pointers[g, 1])
        ptr = row_ptr[group_pointers[g, 0] : group_pointers[g, 0] + n_pointers[g]]
        # the counts, then the next free place of every (source, delay): in the pointers' type
        fill = np.zeros(len(ptr) - 1, index_dtype)
        for i in members:
            syn = per_connection[i]
            count_keys(syn.pre, syn.per_pre, syn.delay_steps, d, first, fill)
        ptr[0] = offset
        np.cumsum(fill, out=ptr[1:], dtype=row_ptr.dtype)
        ptr[1:] += offset
        fill[:] = ptr[:-1]
        for i in members:
            syn = per_connection[i]
            # a connection that lands in one run (as one that fills its group in source order)
            # is told before it is placed: it needs no array of positions
            start = run_start(syn.pre, syn.per_pre, syn.delay_steps, d, first, fill) if keep_positions[i] else -1
            position = np.empty(len(syn) if keep_positions[i] and start < 0 else 0, index_dtype)
            # connections in order, synapses in generation order: a stable counting sort
            weight_out = weight_store if stored[g] else no_weights
            scatter(syn.pre, syn.per_pre, syn.post, syn.weight, syn.delay_steps, d, first, fill, post, weight_out,
                    skipped, position)  # fmt: skip
            slots[i] = (g, slice(int(start), int(start) + len(syn)) if start >= 0 else position)
            per_connection[i] = None  # placed: its arrays are freed before the next ones are needed
        offset = int(ptr[-1])
        if not stored[g]:
            skipped += group_size[g]
    table = SynapseTable(
        n_neurons=n_neurons,
        max_delay_steps=max_delay,
        row_ptr=row_ptr,
        group_pointers=group_pointers,
        post=post,
        weight_store=weight_store,
        group_weight=group_weight,
        group_weight_offset=group_weight_offset,
        group_max_delay=group_max_delay,
        group_channel=group_channel,
        group_connections=group_connections,
        connection_slots=slots,
        group_rule=group_rule,
        group_params=group_params,
        group_update_steps=group_update_steps,
        group_trace=group_trace,
        in_ptr=np.zeros((n_groups, n_neurons + 1), np.int64),
        in_syn=np.zeros(0, np.int32),
        in_key=np.zeros(0, np.int32),
    )
    table.in_ptr, table.in_syn, table.in_key = _incoming(table)
    return table


def _incoming(table: SynapseTable):
    """Index of the plastic synapses by target neuron (for potentiation at post spikes)."""
    n, post = table.n_neurons, table.post
    in_ptr = np.zeros((table.n_groups, n + 1), np.int64)
    spans = table.spans()
    n_plastic = sum(hi - lo for (lo, hi), rule in zip(spans, table.group_rule) if rule != STATIC)
    index_dtype = np.int32 if len(post) < 2**31 else np.int64
    in_syn = np.empty(n_plastic, index_dtype)
    in_key = np.empty(n_plastic, np.int32 if (table.max_delay_steps + 1) * n < 2**31 else np.int64)
    offset = 0
    for g, (lo, hi) in enumerate(spans.tolist()):
        in_ptr[g, :] = offset
        if table.group_rule[g] == STATIC:
            continue
        counts = np.bincount(post[lo:hi], minlength=n)
        np.cumsum(counts, out=in_ptr[g, 1:])
        in_ptr[g, 1:] += offset
        fill = in_ptr[g, :-1].copy()
        index_incoming(table.pointers(g), post, int(table.group_max_delay[g]), int(table.group_pointers[g, 1]), n,
                       fill, in_syn, in_key)  # fmt: skip
        offset += hi - lo
    return in_ptr, in_syn, in_key


# ---------------------------------------------------------------- layout kernels and their twins
@kernel
def count_keys(pre, per_pre, delay_steps, max_delay, first_source, counts):
    """counts[(source - first_source) * max_delay + delay - 1] += 1 for every synapse (synapse s
    from pre[s // per_pre])."""
    s = 0
    for r in range(pre.shape[0]):
        base = (pre[r] - first_source) * max_delay - 1
        for _ in range(per_pre):
            counts[base + delay_steps[s]] += 1
            s += 1


@kernel
def scatter(pre, per_pre, post, weight, delay_steps, max_delay, first_source, fill, post_out, weight_out,
            weight_offset, position):
    """Place every synapse (from pre[s // per_pre]) at the next free place p of its (source,
    delay) (keyed as in ``count_keys``), in generation order; its weight at p - weight_offset of
    ``weight_out`` (none if empty), its p in ``position`` (if not empty)."""
    keep = position.shape[0] > 0
    store = weight_out.shape[0] > 0
    i = 0
    for r in range(pre.shape[0]):
        base = (pre[r] - first_source) * max_delay - 1
        for _ in range(per_pre):
            key = base + delay_steps[i]
            p = fill[key]
            fill[key] = p + 1
            post_out[p] = post[i]
            if store:
                weight_out[p - weight_offset] = weight[i]
            if keep:
                position[i] = p
            i += 1


@kernel
def run_start(pre, per_pre, delay_steps, max_delay, first_source, fill):
    """Where ``scatter`` would place the first synapse, if it places them all in one run
    p0, p0 + 1, ... in generation order; -1 if not, or if there are none. Reads ``fill`` only:
    synapse i goes to fill[key] plus the number of earlier synapses of its key, and a key below
    the one before lies in an earlier stretch of the table (never the next place)."""
    p0 = -1
    last_key = -1
    placed = 0  # earlier synapses of last_key
    i = 0
    for r in range(pre.shape[0]):
        base = (pre[r] - first_source) * max_delay - 1
        for _ in range(per_pre):
            key = base + delay_steps[i]
            if key != last_key:
                if key < last_key:
                    return -1
                last_key = key
                placed = 0
            p = fill[key] + placed
            placed += 1
            if i == 0:
                p0 = p
            elif p != p0 + i:
                return -1
            i += 1
    return p0


@kernel
def index_incoming(row_ptr, post, max_delay, first_source, n_neurons, fill, in_syn, in_key):
    """Synapses of one group (its pointers ``row_ptr``) by target, in table order, with their
    source and delay as one key: delay * n_neurons - source (see ``incoming_key``)."""
    for seg in range(row_ptr.shape[0] - 1):
        key = (seg % max_delay + 1) * n_neurons - (first_source + seg // max_delay)
        for s in range(row_ptr[seg], row_ptr[seg + 1]):
            p = fill[post[s]]
            fill[post[s]] = p + 1
            in_syn[p] = s
            in_key[p] = key


def layout_plain(pre, post, weight, delay_steps, n_sources, max_delay, offset=0, per_pre=1, first_source=0):
    """The plain twin of count_keys + scatter: a stable sort by (source, delay), with pointers for
    sources first_source .. first_source + n_sources - 1. The twin of run_start: ``_as_run`` of
    the positions."""
    key = (np.repeat(pre, per_pre).astype(np.int64) - first_source) * max_delay + (delay_steps.astype(np.int64) - 1)
    order = np.argsort(key, kind="stable")
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=n_sources * max_delay))]) + offset
    position = np.empty(len(order), np.int64)
    position[order] = offset + np.arange(len(order))
    return row_ptr, post[order], weight[order], position


def incoming_plain(row_ptr, post, max_delay, first_source, n_neurons):
    """The plain twin of index_incoming for one group."""
    lo, hi = int(row_ptr[0]), int(row_ptr[-1])
    counts = np.diff(row_ptr)
    segment = np.repeat(np.arange(len(counts)), counts)
    order = np.argsort(post[lo:hi], kind="stable")
    source = first_source + segment // max_delay
    return lo + order, incoming_key(source[order], (segment % max_delay + 1)[order], n_neurons)


def incoming_key(source, delay_steps, n_neurons):
    """The key of a plastic synapse in the incoming index: delay * n_neurons - source. With the
    presynaptic traces of the last L steps in one array of L * n_neurons values (slot-major),
    the trace of the source as it stood ``delay`` steps before the step in slot ``cur`` is at
    cur * n_neurons - key (plus L * n_neurons when negative): one index read, no division."""
    return np.asarray(delay_steps, np.int64) * n_neurons - np.asarray(source, np.int64)


def incoming_source_delay(key, n_neurons):
    """(source, delay in steps) of incoming keys: the inverse of ``incoming_key``."""
    key = np.asarray(key, np.int64)
    delay = (key + n_neurons - 1) // n_neurons
    return delay * n_neurons - key, delay
