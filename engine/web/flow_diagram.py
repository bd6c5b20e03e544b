"""A flow drawn as a diagram: its steps as boxes top to bottom, forks side by side.

Server-rendered SVG in the house style of `engine.web.charts` (classes for colours, every
text escaped, no script). Each box is a step with the runs that reached it and its
engagement (delivered, skipped, failed; opens and clicks of an email; runs waiting now).
Each edge carries the runs that took it: into a step, the runs that reached that step; out
of a fork (branch, persona split, variant, a wait's "target reached" or "timed out"), the
runs the fork sent that way, with the share of them that converted when the path has a
first step to count them at. Paths rejoin before the next step; an exit step ends its path.

    flow_diagram(page)   the flow page's figure
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from engine.catalog.steps import (
    BranchStep,
    BySegmentStep,
    ExitStep,
    Step,
    VariantStep,
    WaitUntilStep,
)
from engine.flows.interpreter import step_key
from engine.web.charts import percent, plain
from engine.web.flow_service import CHANNELS, FlowPage, StepRow
from engine.web.summaries import step_paths

LANE, NODE_W, NODE_H, ROW, TOP = 236, 214, 94, 146, 16

Point = tuple[float, float]


@dataclass(frozen=True)
class _Path:
    """One way out of a fork: its name on the edge, its steps, its runs."""

    name: str
    suffix: tuple[str, ...]
    steps: Sequence[Step]
    runs: int


def flow_diagram(page: FlowPage) -> Markup:
    """The whole flow, with live counts on every box and edge (see the module docstring)."""
    drawing = _Drawing(page, {row.key: row for row in page.steps})
    lanes = drawing.lanes(page.definition.steps)
    start = (lanes * LANE / 2, float(TOP))
    rows, ends = drawing.sequence(page.definition.steps, ("steps",), 0, lanes, 0, [start])
    drawing.end(lanes, rows, ends)
    width, height = int(lanes * LANE), int(TOP + (rows + 1) * ROW)
    title = f"Diagram of the flow {page.flow}: steps, forks and the runs along each path"
    head = (
        f'<svg class="chart diagram" viewBox="0 0 {width} {height}" width="{width}"'
        f' role="img" aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(drawing.edges + drawing.nodes) + "</svg>")


class _Drawing:
    def __init__(self, page: FlowPage, rows: dict[str, StepRow]) -> None:
        self.page, self.rows = page, rows
        self.nodes: list[str] = []
        self.edges: list[str] = []

    def lanes(self, steps: Sequence[Step]) -> int:
        """Columns a sequence needs: its widest fork."""
        return max([1, *(self._step_lanes(s) for s in steps)])

    def _step_lanes(self, step: Step) -> int:
        paths = step_paths(step)
        return sum(self.lanes(p) for _, p in paths) + (1 if _passes(step) else 0) if paths else 1

    def sequence(
        self,
        steps: Sequence[Step],
        path: tuple[str | int, ...],
        lane: float,
        lanes: int,
        row: int,
        incoming: list[Point],
        labelled: bool = True,
    ) -> tuple[int, list[Point]]:
        """Draw `steps` in `lanes` columns from `lane`, at `row`; (rows after, ends)."""
        for index, step in enumerate(steps):
            key = step_key(step, path, index)
            found = self.rows.get(key)
            x, y = (lane + lanes / 2) * LANE, TOP + row * ROW + 30
            self._join(incoming, (x, y), found.entered if found and labelled else None, key)
            labelled = True
            self._node(key, found, x, y)
            bottom = (x, y + NODE_H)
            if isinstance(step, ExitStep):
                return row + 1, []
            forks = _forks(step, found)
            if not forks:
                incoming, row = [bottom], row + 1
                continue
            incoming, row = self._fork(key, (*path, index), forks, lane, lanes, row, bottom)
        return row, incoming

    def _fork(
        self,
        key: str,
        here: tuple[str | int, ...],
        forks: list[_Path],
        lane: float,
        lanes: int,
        row: int,
        bottom: Point,
    ) -> tuple[list[Point], int]:
        """Each path of a fork side by side, below it; their ends, and the row after."""
        widths = [self.lanes(p.steps) for p in forks]
        left = lane + (lanes - sum(widths)) / 2
        ends: list[Point] = []
        deepest = row + 2  # below the paths: a path without steps still shows its label
        for fork, width in zip(forks, widths, strict=True):
            x = (left + width / 2) * LANE
            y = TOP + (row + 1) * ROW + 30
            first = (
                self.rows.get(step_key(fork.steps[0], (*here, *fork.suffix), 0))
                if fork.steps
                else None
            )
            caption = [fork.name, f"{plain(fork.runs)} runs"]
            if first is not None and first.entered:
                caption[1] += f" · {percent(first.converted / first.entered)} convert"
            self._edge(bottom, (x, y), caption, key, fork.name, fork.runs)
            if fork.steps:
                after, out = self.sequence(
                    fork.steps, (*here, *fork.suffix), left, width, row + 1, [(x, y)], False
                )
            else:
                after, out = row + 1, [(x, y)]
            ends += out
            deepest = max(deepest, after)
            left += width
        return ends, deepest

    def _join(self, incoming: list[Point], target: Point, runs: int | None, key: str) -> None:
        """Edges into a box: straight from one end, or merged from several paths."""
        x, y = target
        if len(incoming) == 1:
            sx, sy = incoming[0]
            if (sx, sy) != (x, y):
                self._edge((sx, sy), target, _count(runs), "", key, runs)
            return
        merge = (x, y - 18)
        for end in incoming:
            # down its own lane (free below its path), across only where the paths meet
            self.edges.append(_route(end, merge, "join", across=merge[1]))
        self._edge(merge, target, _count(runs), "", key, runs)

    def _edge(
        self,
        start: Point,
        end: Point,
        caption: list[str] | None,
        source: str,
        target: str,
        runs: int | None,
    ) -> None:
        data = f' data-from="{escape(source)}" data-to="{escape(target)}"'
        data += "" if runs is None else f' data-runs="{runs}"'
        label = ""
        if caption is not None and len(caption) == 1:  # the runs along a wire, beside it
            label = _text(end[0] + 6, end[1] - 6, caption[0], "edge-label", "start")
        elif caption is not None:  # a fork's way out: centred above the path, two lines
            x, y = end
            label = _text(x, y - 22, _clip(caption[0], 32), "edge-label edge-name")
            label += _text(x, y - 7, caption[1], "edge-label")
        self.edges.append(f'<g class="edge"{data}>{_route(start, end, "wire")}{label}</g>')

    def _node(self, key: str, row: StepRow | None, x: float, y: float) -> None:
        lines = [row.label if row else key, *(_figures(row) if row else [])]
        entered = f' data-entered="{row.entered}"' if row else ""
        self._box(key, row.kind if row else "step", lines, x, y, NODE_H, entered)

    def end(self, lanes: int, row: int, ends: list[Point]) -> None:
        """The end of the flow: runs that completed every step, and the flow's conversion."""
        if not ends:
            return
        runs = self.page.runs
        x, y = lanes * LANE / 2, TOP + row * ROW + 30
        self._join(ends, (x, y), None, "end")
        entered = sum(runs.values()) - runs.get("skipped", 0)
        lines = ["end of the flow", f"{plain(runs.get('completed', 0))} completed"]
        if self.page.goal and entered:
            lines.append(f"{percent(self.page.converted / entered)} of runs converted")
        self._box("end", "end", lines, x, y, 17 * len(lines) + 10, "")

    def _box(
        self, key: str, kind: str, lines: list[str], x: float, y: float, height: int, data: str
    ) -> None:
        """A rounded box centred on x, its first line in bold."""
        body = [
            f'<rect class="node {escape(kind)}" x="{x - NODE_W / 2:.1f}" y="{y:.1f}"'
            f' width="{NODE_W}" height="{height}" rx="8"/>'
        ]
        for i, line in enumerate(lines):
            cls = "node-title" if i == 0 else "node-figure"
            body.append(_text(x, y + 17 + i * 17, _clip(line, 30), cls))
        self.nodes.append(f'<g class="step" data-step="{escape(key)}"{data}>{"".join(body)}</g>')


def _figures(row: StepRow) -> list[str]:
    """A box's counts: runs in, then what the step did with them."""
    lines = [f"{plain(row.entered)} runs"]
    if row.kind in CHANNELS:
        share = f" ({percent(row.delivered / row.entered)})" if row.entered else ""
        skipped, failed = sum(row.skipped.values()), sum(row.failed.values())
        lines += [
            f"{plain(row.delivered)} delivered{share}",
            f"{plain(skipped)} skipped · {plain(failed)} failed",
        ]
    if row.kind == "email" and row.delivered:
        opened, clicked = row.opened / row.delivered, row.clicked / row.delivered
        lines.append(f"opened {percent(opened)} · clicked {percent(clicked)}")
    if row.waiting:
        lines.append(f"{plain(row.waiting)} waiting now")
    if row.kind == "exit":
        lines.append(f"{plain(row.outcomes.get('exited', 0))} exited")
    return lines


def _forks(step: Step, row: StepRow | None) -> list[_Path]:
    """The ways out of a fork, with the runs the journey sent each way."""
    seen = row.outcomes if row else {}
    match step:
        case BranchStep():
            return [
                _Path("then", ("then",), step.then, seen.get("then", 0)),
                _Path("else", ("else",), step.otherwise, seen.get("else", 0)),
            ]
        case BySegmentStep():
            paths = [
                _Path(name, ("by_segment", name), inner, seen.get(name, 0))
                for name, inner in step.by_segment.items()
            ]
            return [*paths, _Path("else", ("else",), step.otherwise, seen.get("else", 0))]
        case WaitUntilStep():
            reached = seen.get("target reached", 0)
            return [
                _Path("target reached", (), (), reached),
                _Path("timed out", ("on_timeout",), step.on_timeout, seen.get("timed out", 0)),
            ]
        case VariantStep():
            skipped = sum(row.skipped.values()) if row else 0
            inside = row.entered - skipped if row else 0
            return [
                _Path(f"variant {step.variant}", ("steps",), step.steps, inside),
                _Path("other variants", (), (), skipped),
            ]
    return []


def _passes(step: Step) -> bool:
    """Forks with a way out that has no steps of its own (it still needs a lane)."""
    return isinstance(step, (WaitUntilStep, VariantStep))


def _count(runs: int | None) -> list[str] | None:
    return None if runs is None else [plain(runs)]


def _route(start: Point, end: Point, cls: str, across: float | None = None) -> str:
    """An orthogonal wire: down, across at height `across` (default: just below its start,
    clear of the labels above the next box), down."""
    (x1, y1), (x2, y2) = start, end
    if x1 == x2:
        return f'<path class="{cls}" d="M{x1:.1f} {y1:.1f} V{y2:.1f}"/>'
    middle = y1 + min(12.0, (y2 - y1) / 2) if across is None else across
    return f'<path class="{cls}" d="M{x1:.1f} {y1:.1f} V{middle:.1f} H{x2:.1f} V{y2:.1f}"/>'


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return (
        f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
