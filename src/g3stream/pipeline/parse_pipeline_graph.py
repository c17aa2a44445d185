"""Reading and drawing the control flow of ``G3Pipeline.Run(graph=True)``.

spt3g's ``core.parse_pipeline_graph`` module, with the same functions:
``plot_frame_processing_info(pipeline)`` draws which module handled which
frame when (it needs matplotlib, imported only then), ``uniquify_list`` and
``frame_type_str_to_color`` are its helpers.  ``graph_info`` and
``processing_segments`` give the same information as data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = [
    "uniquify_list",
    "frame_type_str_to_color",
    "graph_info",
    "processing_segments",
    "plot_frame_processing_info",
]

#: matplotlib colour letter of each frame type in the drawing
FRAME_TYPE_COLORS = {
    "Timepoint": "m",
    "Housekeeping": "y",
    "Scan": "r",
    "Map": "g",
    "InstrumentStatus": "k",
    "Wiring": "c",
    "Calibration": "b",
    "EndProcessing": "k",
    "None": "k",
    # not coloured by spt3g (its drawing stops at them): black here
    "PipelineInfo": "k",
    "Observation": "k",
    "GcpSlow": "k",
    "Ephemeris": "k",
    "LightCurve": "k",
    "Statistics": "k",
}


def uniquify_list(seq: Iterable[Any]) -> list[Any]:
    """The items of ``seq`` without repeats, in the order they first appear."""
    out: list[Any] = []
    for item in seq:
        if item not in out:
            out.append(item)
    return out


def frame_type_str_to_color(s: str) -> str:
    """The matplotlib colour letter for a frame type name (AssertionError for others, as spt3g)."""
    assert s in FRAME_TYPE_COLORS, f"no colour for frame type {s!r}"
    return FRAME_TYPE_COLORS[s]


def graph_info(pipeline_or_text: Any) -> dict[str, Any]:
    """The record of a ``Run(graph=True)`` as a dictionary.

    ``"Module List"`` holds ``[position, name]`` pairs and ``"Processing
    List"`` ``[step, module position, frame number, frame type]`` rows.
    Takes the pipeline or the text of its ``GetGraphInfo()``.
    """
    text = (
        pipeline_or_text if isinstance(pipeline_or_text, str) else pipeline_or_text.GetGraphInfo()
    )
    if not text.strip():
        raise ValueError("no graph recorded: run the pipeline with Run(graph=True)")
    info: dict[str, Any] = json.loads(text)
    return info


def processing_segments(info: dict[str, Any]) -> list[tuple[str, list[float], list[float], str]]:
    """The lines of the drawing: ``(kind, xs, ys, frame type)`` in drawing order.

    Each frame is a column offset within each module; a ``"wait"`` line runs
    down while the frame waits in a module, a ``"move"`` line goes to the next
    module one step later.  Time runs down the y axis in steps.
    """
    steps = info["Processing List"]
    n_frames = max((row[2] for row in steps), default=-1) + 1
    position: dict[int, int] = {}  # frame -> module it was last in
    ready: dict[int, int] = {}  # frame -> step it left that module
    out: list[tuple[str, list[float], list[float], str]] = []
    for step, module, frame, ftype in steps:
        prev_module = position.setdefault(frame, module - 1)
        prev_step = ready.get(frame, step)

        def x(m: int, f: int = frame) -> float:
            return m - (f + 1) / (3 * (n_frames + 1)) + 0.66

        out.append(("wait", [x(prev_module), x(prev_module)], [prev_step, step], ftype))
        out.append(("move", [x(prev_module), x(module)], [step, step + 1], ftype))
        position[frame] = module
        ready[frame] = step + 1
    return out


def plot_frame_processing_info(g3_pipeline: Any) -> None:
    """Draw the frames' path through a pipeline run with ``Run(graph=True)`` (needs matplotlib)."""
    import matplotlib.pyplot as plt  # optional dependency, only for drawing

    info = graph_info(g3_pipeline)
    steps = info["Processing List"]
    plt.clf()
    for ftype in uniquify_list(row[3] for row in steps):  # the legend, one entry per type
        plt.plot([], [], color=frame_type_str_to_color(ftype), label=ftype, linewidth=3)
    plt.legend()
    for kind, xs, ys, ftype in processing_segments(info):
        color = frame_type_str_to_color(ftype)
        if kind == "wait":
            plt.plot(xs, ys, color=color, linestyle="--")
        else:
            plt.plot(xs, ys, color=color, linewidth=2.0, marker=".")
    ticks, labels = [], []
    for position, name in info["Module List"]:
        plt.axvline(position, linewidth=2, linestyle="-.", color="k")
        ticks.append(position + 0.5)
        labels.append(name.rsplit(".", 1)[-1])
    plt.xticks(ticks, labels, rotation=-7)
    plt.gca().get_yaxis().set_ticks([])
    n_steps = max((row[0] for row in steps), default=0) + 1
    plt.ylim(n_steps + 0.5, -0.5)
    plt.xlim(0, len(info["Module List"]))
    plt.ylabel("Time\n$\\Longleftarrow$")
    plt.xlabel("Module $\\Longrightarrow$")
    plt.show()
