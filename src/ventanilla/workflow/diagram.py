"""The workflow drawn as an SVG, for the service page (inline, no JavaScript) and as a file.

States are boxes placed in layers by the longest path from the initial state, left to right; more than four
layers wrap onto further rows so the drawing stays legible when a phone scales it down to 320 px. Actions are
arrows labelled with their names; sending back to the applicant (and the applicant's answer) is dashed.
The same workflow always gives the same bytes, so the file can be cached and compared."""

import hashlib
import itertools
import math
import textwrap
from xml.sax.saxutils import escape, quoteattr

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .definition import WITHDRAWN, State, Workflow, text

LAYERS_PER_ROW = 4
BOX_WIDTH, BOX_HEIGHT = 150, 64
COLUMN_GAP, STACK_GAP, ROW_GAP = 100, 36, 70
MARGIN = 12
LABEL_CHARS, LABEL_LINE = 19, 16
EDGE_CHARS, EDGE_LINE, EDGE_CHAR_WIDTH = 22, 13, 6.0
CURVE = 28
SLOT_HEIGHT = 30
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

COLOURS = {  # (fill, stroke) by what the state is; outcome colours also carry words, never colour alone
    "active": ("#ffffff", "#0b0c0c"),
    "applicant": ("#fff4d6", "#8a6100"),
    "approved": ("#d9f2e0", "#00703c"),
    "rejected": ("#f9dcd9", "#b3261e"),
    "withdrawn": ("#e9eaeb", "#505a5f"),
}
CURRENT_STROKE = "#1d70b8"
TEXT_COLOUR = "#0b0c0c"


def _fmt(number: float) -> str:
    """Coordinates with at most one decimal, written the same way on every platform."""
    rounded = round(number, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _layers(workflow: Workflow) -> dict[str, int]:
    """Longest-path layer of each state from the initial one, after setting aside the edges that close a
    cycle (send-backs, reviews that loop), found by a depth-first walk in declaration order."""
    forward: dict[str, list[str]] = {key: [] for key in workflow.states}
    for action in workflow.actions.values():
        for source in action.sources:
            if source in forward and action.target in forward and action.target not in forward[source]:
                forward[source].append(action.target)
    order: list[str] = []  # reverse post-order = a topological order of the acyclic part
    acyclic: dict[str, list[str]] = {key: [] for key in workflow.states}
    visited: set[str] = set()

    def walk(start: str) -> None:
        visited.add(start)
        on_path, stack = {start}, [(start, iter(forward[start]))]
        while stack:
            node, following = stack[-1]
            nxt = next(following, None)
            if nxt is None:
                stack.pop()
                on_path.discard(node)
                order.append(node)
            elif nxt in on_path:
                continue  # closes a cycle: not used for layering
            else:
                acyclic[node].append(nxt)
                if nxt not in visited:
                    visited.add(nxt)
                    on_path.add(nxt)
                    stack.append((nxt, iter(forward[nxt])))

    starts = [workflow.initial] if workflow.initial in forward else []
    walk_order = starts + [key for key in workflow.states if key != WITHDRAWN]
    for key in walk_order:
        if key not in visited:
            walk(key)
    layer = dict.fromkeys(visited, 0)
    for node in reversed(order):
        for nxt in acyclic[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
    last = max(layer.values(), default=0)
    for key in workflow.states:
        # The built-in withdrawn state has no incoming arrow: it sits with the other endings.
        layer.setdefault(key, last)
    return layer


def _wrap(value: str, width: int, max_lines: int) -> list[str]:
    lines = textwrap.wrap(value, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _style(state: State) -> tuple[str, str]:
    if state.kind == "outcome":
        return COLOURS.get(state.outcome or "", COLOURS["withdrawn"])
    return COLOURS[state.kind]


def _outcome_word(outcome: str | None) -> str:
    return {"approved": _("approved"), "rejected": _("rejected"), "withdrawn": _("withdrawn")}.get(
        outcome or "", outcome or ""
    )


def _meta(state: State) -> str:
    if state.kind == "applicant":
        return _("Waiting for the applicant")
    if state.kind == "outcome":
        return _("Outcome: %(outcome)s") % {"outcome": _outcome_word(state.outcome)}
    if state.sla_days:
        return ngettext("%(role)s · %(n)s working day", "%(role)s · %(n)s working days", state.sla_days) % {
            "role": state.role or "",
            "n": state.sla_days,
        }
    return state.role or ""


class _Canvas:
    """Collects SVG elements and the extent they cover, so the viewBox always holds everything drawn."""

    def __init__(self):
        self.parts: list[str] = []
        self.left = self.top = math.inf
        self.right = self.bottom = -math.inf

    def cover(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.left, self.top = min(self.left, x1, x2), min(self.top, y1, y2)
        self.right, self.bottom = max(self.right, x1, x2), max(self.bottom, y1, y2)

    def add(self, element: str) -> None:
        self.parts.append(element)


def _text_element(
    x: float, y: float, value: str, *, size: int, weight: str = "normal", anchor="middle"
) -> str:
    return (
        f'<text x="{_fmt(x)}" y="{_fmt(y)}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}" fill="{TEXT_COLOUR}">{escape(value)}</text>'
    )


def _boundary(center: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from a box's centre toward a point leaves the box."""
    dx, dy = toward[0] - center[0], toward[1] - center[1]
    if dx == 0 and dy == 0:
        return center
    scale = min(
        (BOX_WIDTH / 2) / abs(dx) if dx else math.inf,
        (BOX_HEIGHT / 2) / abs(dy) if dy else math.inf,
    )
    return center[0] + dx * scale, center[1] + dy * scale


def render_svg(workflow: Workflow, *, language: str, current: str | None = None, title: str = "") -> str:
    with translation.override(language):
        return _render(workflow, language=language, current=current, title=title)


Point = tuple[float, float]


def _edges(workflow: Workflow, language: str) -> list[tuple[str, str, str, bool]]:
    """(source, target, label, dashed) arrows; actions between the same two states share one arrow."""
    grouped: dict[tuple[str, str, bool], list[str]] = {}
    for action in workflow.actions.values():
        dashed = action.kind == "send_back"
        for source in action.sources:
            if source not in workflow.states or action.target not in workflow.states:
                continue
            labels = grouped.setdefault((source, action.target, dashed), [])
            if (name := text(action.label, language)) not in labels:
                labels.append(name)
            if dashed:
                back = grouped.setdefault((action.target, source, True), [])
                if (answer := _("Applicant answers")) not in back:
                    back.append(answer)
    return [
        (source, target, " / ".join(labels), dashed) for (source, target, dashed), labels in grouped.items()
    ]


class _Layout:
    """Where each box goes. An arrow that skips layers gets a reserved slot (room for its label) in every
    layer it crosses, below that layer's boxes, so it runs beside the boxes instead of through them."""

    def __init__(self, workflow: Workflow, edges: list[tuple[str, str, str, bool]]):
        self.layer = _layers(workflow)
        stacks: dict[int, list[tuple[str, object]]] = {}
        for key in workflow.states:
            stacks.setdefault(self.layer[key], []).append(("state", key))
        self.crossed: dict[int, list[int]] = {}  # edge index → layers it crosses, in travel order
        for index, (source, target, _label, _dashed) in enumerate(edges):
            first, last = self.layer[source], self.layer[target]
            step = 1 if last > first else -1
            self.crossed[index] = list(range(first + step, last, step))
            for number in self.crossed[index]:
                stacks.setdefault(number, []).append(("slot", index))

        def height(item) -> float:
            return BOX_HEIGHT if item[0] == "state" else SLOT_HEIGHT

        stack_height = {
            number: sum(height(item) for item in items) + STACK_GAP * (len(items) - 1)
            for number, items in stacks.items()
        }
        rows = max(stacks) // LAYERS_PER_ROW + 1
        self.row_top: list[float] = []
        row_height: list[float] = []
        top = 0.0
        for row in range(rows):
            self.row_top.append(top)
            row_height.append(
                max(stack_height.get(row * LAYERS_PER_ROW + column, 0) for column in range(LAYERS_PER_ROW))
            )
            top += row_height[-1] + ROW_GAP
        self.boxes: dict[str, Point] = {}  # top-left corner of each state's box
        self.slots: dict[tuple[int, int], Point] = {}  # (edge index, layer) → centre of the slot
        for number, items in stacks.items():
            row = self.row(number)
            x = self.column_left(number)
            y = self.row_top[row] + (row_height[row] - stack_height[number]) / 2
            for item in items:
                if item[0] == "state":
                    self.boxes[item[1]] = (x, y)
                else:
                    self.slots[(item[1], number)] = (x + BOX_WIDTH / 2, y + SLOT_HEIGHT / 2)
                y += height(item) + STACK_GAP

    @staticmethod
    def row(number: int) -> int:
        return number // LAYERS_PER_ROW

    @staticmethod
    def column_left(number: int) -> float:
        return (number % LAYERS_PER_ROW) * (BOX_WIDTH + COLUMN_GAP)

    def center(self, key: str) -> Point:
        x, y = self.boxes[key]
        return x + BOX_WIDTH / 2, y + BOX_HEIGHT / 2

    def route(self, index: int, source: str, target: str) -> tuple[list[Point], Point | None]:
        """The points an arrow passes through between its two boxes, and where its label goes (None: at the
        middle of the arrow). Going from one row to the next, the arrow leaves beside its column, runs along
        the gap between the rows and enters its target from above."""
        stops = [(self.layer[source], self.center(source))]
        stops += [(number, self.slots[(index, number)]) for number in self.crossed[index]]
        stops.append((self.layer[target], self.center(target)))
        points, label = [], None
        for position, ((number, point), (next_number, next_point)) in enumerate(itertools.pairwise(stops)):
            if position:  # the source box itself is not a waypoint
                points.append(point)
                label = label or point
            if self.row(next_number) != self.row(number):
                lower_row = max(self.row(number), self.row(next_number))
                gap = self.row_top[lower_row] - ROW_GAP / 2
                beside = self.column_left(number) + BOX_WIDTH + COLUMN_GAP / 2
                points += [(beside, point[1]), (beside, gap), (next_point[0], gap)]
                label = label or ((beside + next_point[0]) / 2, gap)
        return points, label


def _smooth_path(points: list[Point]) -> str:
    """A polyline with its corners rounded (each corner becomes a quadratic curve between midpoints)."""
    path = f"M{_fmt(points[0][0])},{_fmt(points[0][1])}"
    for before, corner, after in zip(points, points[1:], points[2:], strict=False):
        start = ((before[0] + corner[0]) / 2, (before[1] + corner[1]) / 2)
        end = ((corner[0] + after[0]) / 2, (corner[1] + after[1]) / 2)
        path += f" L{_fmt(start[0])},{_fmt(start[1])} Q{_fmt(corner[0])},{_fmt(corner[1])} {_fmt(end[0])},{_fmt(end[1])}"
    return path + f" L{_fmt(points[-1][0])},{_fmt(points[-1][1])}"


def _render(workflow: Workflow, *, language: str, current: str | None, title: str) -> str:
    edges = _edges(workflow, language)
    layout = _Layout(workflow, edges)
    ident = "wf-" + hashlib.sha256(repr((workflow, current, title, language)).encode()).hexdigest()[:10]
    canvas = _Canvas()
    pairs = {(source, target) for source, target, _label, _dashed in edges}
    arrows, labels = [], []
    for index, (source, target, label, dashed) in enumerate(edges):
        style = f'fill="none" stroke="{TEXT_COLOUR}" stroke-width="1.5"'
        style += ' stroke-dasharray="6 4"' if dashed else ""
        style += f' marker-end="url(#{ident}-arrow)"'
        waypoints, mid = layout.route(index, source, target)
        if source == target:
            x, y = layout.boxes[source]
            right, left = x + BOX_WIDTH * 0.62, x + BOX_WIDTH * 0.38
            path = (
                f"M{_fmt(right)},{_fmt(y)} C{_fmt(right)},{_fmt(y - 40)} {_fmt(left)},{_fmt(y - 40)} "
                f"{_fmt(left)},{_fmt(y)}"
            )
            canvas.cover(left, y - 32, right, y)
            mid = (x + BOX_WIDTH / 2, y - 36)
        elif waypoints:
            points = [
                _boundary(layout.center(source), waypoints[0]),
                *waypoints,
                _boundary(layout.center(target), waypoints[-1]),
            ]
            path = _smooth_path(points)
            for point in points:
                canvas.cover(*point, *point)
        else:
            a, b = layout.center(source), layout.center(target)
            length = math.hypot(b[0] - a[0], b[1] - a[1])
            normal = (-(b[1] - a[1]) / length, (b[0] - a[0]) / length)
            # Two arrows between the same boxes bow apart; boxes stacked in one layer are passed on the side.
            bend = (
                CURVE
                if (target, source) in pairs
                else (0 if layout.layer[source] != layout.layer[target] else 2 * CURVE)
            )
            control = ((a[0] + b[0]) / 2 + normal[0] * bend, (a[1] + b[1]) / 2 + normal[1] * bend)
            start, end = _boundary(a, control), _boundary(b, control)
            path = (
                f"M{_fmt(start[0])},{_fmt(start[1])} Q{_fmt(control[0])},{_fmt(control[1])} "
                f"{_fmt(end[0])},{_fmt(end[1])}"
            )
            canvas.cover(*start, *end)
            canvas.cover(*control, *control)
            mid = (
                0.25 * start[0] + 0.5 * control[0] + 0.25 * end[0],
                0.25 * start[1] + 0.5 * control[1] + 0.25 * end[1],
            )
        arrows.append(f'<path d="{path}" {style}/>')
        lines = _wrap(label, EDGE_CHARS, 2)
        width = max(len(line) for line in lines) * EDGE_CHAR_WIDTH + 8
        height = len(lines) * EDGE_LINE + 4
        left, top = mid[0] - width / 2, mid[1] - height / 2
        labels.append(
            f'<rect x="{_fmt(left)}" y="{_fmt(top)}" width="{_fmt(width)}" height="{_fmt(height)}" rx="3" '
            f'fill="#ffffff" fill-opacity="0.9"/>'
        )
        labels += [
            _text_element(mid[0], top + EDGE_LINE * (number + 1) - 1, line, size=11)
            for number, line in enumerate(lines)
        ]
        canvas.cover(left, top, left + width, top + height)

    boxes = []
    for key, state in workflow.states.items():
        x, y = layout.boxes[key]
        fill, stroke = _style(state)
        is_current = key == current
        classes = "state state-current" if is_current else "state"
        boxes.append(f'<g class="{classes}" data-state={quoteattr(key)}>')
        boxes.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="10" '
            f'fill="{fill}" stroke="{CURRENT_STROKE if is_current else stroke}" '
            f'stroke-width="{4 if is_current else 1.5}"/>'
        )
        label_lines = _wrap(text(state.label, language) or key, LABEL_CHARS, 2)
        first = y + (BOX_HEIGHT - (len(label_lines) * LABEL_LINE + 12)) / 2 + 12
        boxes += [
            _text_element(x + BOX_WIDTH / 2, first + number * LABEL_LINE, line, size=13, weight="bold")
            for number, line in enumerate(label_lines)
        ]
        if meta := _meta(state):
            meta_line = _wrap(meta, 26, 1)[0]
            boxes.append(
                _text_element(x + BOX_WIDTH / 2, first + len(label_lines) * LABEL_LINE, meta_line, size=10)
            )
        if is_current:
            boxes.append(
                _text_element(x, y - 6, "▶ " + _("Current state"), size=11, weight="bold", anchor="start")
            )
            canvas.cover(x, y - 20, x + BOX_WIDTH, y)
        boxes.append("</g>")
        canvas.cover(x, y, x + BOX_WIDTH, y + BOX_HEIGHT)

    if workflow.initial in layout.boxes:
        x, y = layout.boxes[workflow.initial]
        middle = y + BOX_HEIGHT / 2
        arrows.append(f'<circle cx="{_fmt(x - 34)}" cy="{_fmt(middle)}" r="6" fill="{TEXT_COLOUR}"/>')
        arrows.append(
            f'<path d="M{_fmt(x - 28)},{_fmt(middle)} L{_fmt(x)},{_fmt(middle)}" stroke="{TEXT_COLOUR}" '
            f'stroke-width="1.5" marker-end="url(#{ident}-arrow)"/>'
        )
        canvas.cover(x - 40, middle - 6, x, middle + 6)

    left, top = canvas.left - MARGIN, canvas.top - MARGIN
    width, height = canvas.right - canvas.left + 2 * MARGIN, canvas.bottom - canvas.top + 2 * MARGIN
    heading = title or _("How a case moves through this service")
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{_fmt(left)} {_fmt(top)} {_fmt(width)} '
        f'{_fmt(height)}" role="img" aria-labelledby="{ident}-title {ident}-desc" class="workflow-diagram" '
        f'font-family="{escape(FONT)}">',
        f'<title id="{ident}-title">{escape(heading)}</title>',
        f'<desc id="{ident}-desc">{escape(_describe(workflow, language, current))}</desc>',
        f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{TEXT_COLOUR}"/>'
        f"</marker></defs>",
    ]
    return "\n".join([*head, *arrows, *boxes, *labels, "</svg>"]) + "\n"


def _describe(workflow: Workflow, language: str, current: str | None) -> str:
    """The diagram in words, for people who cannot see it."""

    def name(key: str) -> str:
        state = workflow.states.get(key)
        return text(state.label, language) if state else key

    def either(names) -> str:
        names = list(names)
        return (
            names[0]
            if len(names) == 1
            else _("%(some)s or %(last)s")
            % {
                "some": ", ".join(names[:-1]),
                "last": names[-1],
            }
        )

    states = []
    for key, state in workflow.states.items():
        if state.kind == "applicant":
            about = _("waiting for the applicant")
        elif state.kind == "outcome":
            about = _("outcome: %(outcome)s") % {"outcome": _outcome_word(state.outcome)}
        elif state.sla_days:
            about = ngettext(
                "handled by %(role)s within %(n)s working day",
                "handled by %(role)s within %(n)s working days",
                state.sla_days,
            ) % {"role": state.role, "n": state.sla_days}
        else:
            about = _("handled by %(role)s") % {"role": state.role}
        states.append(f"{name(key)} ({about})")
    sentences = [
        _("The case starts in %(initial)s.") % {"initial": name(workflow.initial)},
        _("States: %(states)s.") % {"states": "; ".join(states)},
    ]
    for action in workflow.actions.values():
        values = {
            "action": text(action.label, language),
            "sources": either(name(source) for source in action.sources),
            "target": name(action.target),
            "roles": either(action.roles),
        }
        if action.kind == "send_back":
            sentence = _(
                "From %(sources)s, an official with the role %(roles)s can “%(action)s”: the case goes "
                "back to the applicant (%(target)s) and returns when the applicant answers."
            )
        else:
            sentence = _(
                "From %(sources)s, an official with the role %(roles)s can “%(action)s”, which leads to "
                "%(target)s."
            )
        sentences.append(sentence % values)
        if action.guard:
            sentences.append(_("(Only for some applications, depending on their answers.)"))
    sentences.append(_("The applicant can withdraw the application until it reaches an outcome."))
    if current in workflow.states:
        sentences.append(_("Current state: %(state)s.") % {"state": name(current)})
    return " ".join(sentences)
