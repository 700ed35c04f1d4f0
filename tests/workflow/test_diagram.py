import re
import xml.etree.ElementTree as ET

import pytest

from ventanilla.workflow.definition import load_workflow
from ventanilla.workflow.diagram import render_svg

from .samples import permit, state

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def workflow():
    return load_workflow(permit())


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output, the point is to check it parses)


def all_text(root: ET.Element) -> str:
    return " ".join("".join(node.itertext()) for node in root.iter(f"{SVG}text"))


def view_box(root: ET.Element) -> tuple[float, float, float, float]:
    left, top, width, height = (float(n) for n in root.get("viewBox").split())
    return left, top, left + width, top + height


def test_the_diagram_is_well_formed_and_accessible(workflow):
    root = parse(render_svg(workflow, language="en", title="Building permit"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Building permit"
    assert set(root.get("aria-labelledby").split()) == {title.get("id"), desc.get("id")}
    assert desc.text.startswith(
        "The case starts in Received. States: Received (handled by clerk within 2 working days)"
    )
    assert (
        "From Review, an official with the role reviewer can “Ask for information”: the case goes back to the "
        "applicant (More information needed) and returns when the applicant answers." in desc.text
    )
    assert (
        "From Received or Review, an official with the role reviewer or supervisor can “Reject”, which leads "
        "to Rejected." in desc.text
    )
    assert root.find(f".//{SVG}script") is None
    assert root.get("width") is None  # scales to the container through its viewBox


def test_every_state_is_drawn_with_its_label_in_the_chosen_language(workflow):
    english = all_text(parse(render_svg(workflow, language="en")))
    spanish = all_text(parse(render_svg(workflow, language="es")))
    for label in (
        "Received",
        "Review",
        "More information needed",
        "Approved",
        "Rejected",
        "Withdrawn by the",
    ):
        assert label in english
    for label in ("Recibida", "En revisión", "Falta información", "Aprobada", "Rechazada", "Retirada por el"):
        assert label in spanish
    for action in ("Accept", "Ask for information", "Approve", "Applicant answers"):
        assert action in english


def test_the_current_state_is_highlighted_and_said_in_words(workflow):
    root = parse(render_svg(workflow, language="en", current="review"))
    [group] = [g for g in root.iter(f"{SVG}g") if "state-current" in (g.get("class") or "")]
    assert group.get("data-state") == "review"
    assert group.find(f"{SVG}rect").get("stroke-width") == "4"
    assert "Current state" in all_text(group)
    assert root.find(f"{SVG}desc").text.endswith("Current state: Review.")
    assert not any(
        "state-current" in (g.get("class") or "")
        for g in parse(render_svg(workflow, language="en")).iter(f"{SVG}g")
    )


def test_outcomes_have_their_own_fill_and_send_backs_are_dashed(workflow):
    root = parse(render_svg(workflow, language="en"))
    fills = {g.get("data-state"): g.find(f"{SVG}rect").get("fill") for g in root.iter(f"{SVG}g")}
    assert len({fills["approved"], fills["rejected"], fills["withdrawn"], fills["review"]}) == 4
    dashed = [path for path in root.iter(f"{SVG}path") if path.get("stroke-dasharray")]
    assert len(dashed) == 2  # the send-back and the applicant's answer


def test_text_from_the_definition_is_escaped():
    document = permit()
    state(document, "review")["label"]["en"] = "<script>alert('x')</script> & review"
    svg = render_svg(load_workflow(document), language="en", title="<b>Permit</b>")
    assert "<script" not in svg
    assert "<b>" not in svg
    root = parse(svg)
    assert "<script>alert('x')</script> & review"[:19] in all_text(root)
    assert root.find(f"{SVG}title").text == "<b>Permit</b>"


def test_the_same_workflow_gives_the_same_bytes(workflow):
    assert render_svg(workflow, language="es", current="review") == render_svg(
        load_workflow(permit()), language="es", current="review"
    )


def _inside(root, box):
    left, top, right, bottom = box
    for rect in root.iter(f"{SVG}rect"):
        x, y = float(rect.get("x")), float(rect.get("y"))
        assert left <= x and x + float(rect.get("width")) <= right
        assert top <= y and y + float(rect.get("height")) <= bottom
    for node in root.iter(f"{SVG}text"):
        assert left <= float(node.get("x")) <= right and top <= float(node.get("y")) <= bottom
    for path in root.iter(f"{SVG}path"):
        if path.get("d", "").startswith("M0,0"):
            continue  # the arrowhead marker, in its own coordinates
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))]
        for x, y in zip(numbers[::2], numbers[1::2], strict=True):
            assert left <= x <= right and top <= y <= bottom


def test_everything_drawn_fits_the_view_box(workflow):
    root = parse(render_svg(workflow, language="en", current="received"))
    _inside(root, view_box(root))


def long_chain(length: int) -> dict:
    states = [
        {"key": f"step_{n}", "label": {"es": f"Paso {n}", "en": f"Step {n}"}, "role": "clerk"}
        for n in range(length)
    ]
    states.append({"key": "done", "label": {"es": "Hecho", "en": "Done"}, "outcome": "approved"})
    actions = [
        {
            "key": f"next_{n}",
            "label": {"es": "Siguiente", "en": "Next"},
            "roles": ["clerk"],
            "from": [f"step_{n}"],
            "to": f"step_{n + 1}",
        }
        for n in range(length - 1)
    ]
    actions.append(
        {
            "key": "finish",
            "kind": "decision",
            "label": {"es": "Terminar", "en": "Finish"},
            "roles": ["clerk"],
            "from": [f"step_{length - 1}"],
            "to": "done",
        }
    )
    actions.append(
        {
            "key": "again",
            "label": {"es": "Otra vez", "en": "Again"},
            "roles": ["clerk"],
            "from": ["step_1"],
            "to": "step_1",
        }
    )
    return {"initial": "step_0", "states": states, "actions": actions}


def test_more_than_four_layers_wrap_into_rows_so_a_phone_can_show_them():
    short = parse(render_svg(load_workflow(long_chain(3)), language="en"))
    long = parse(render_svg(load_workflow(long_chain(9)), language="en"))
    _left, short_top, _right, short_bottom = view_box(short)
    long_left, long_top, long_right, long_bottom = view_box(long)
    assert long_right - long_left < 5 * 150 + 4 * 100  # narrower than five columns of boxes and gaps
    assert long_bottom - long_top > 2 * (short_bottom - short_top)  # ten layers: three rows
    _inside(long, view_box(long))
