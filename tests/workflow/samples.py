"""Workflow documents for the tests: a municipal building permit, as an institution would write it."""

import copy

FIELD_KEYS = {"kind", "trade_name", "area", "address"}
REQUIREMENT_SLUGS = {"plano-de-construccion", "paz-y-salvo-municipal"}

_PERMIT = {
    "case_sla_days": 20,
    "initial": "received",
    "states": [
        {"key": "received", "label": {"es": "Recibida", "en": "Received"}, "role": "clerk", "sla_days": 2},
        {
            "key": "review",
            "label": {"es": "En revisión", "en": "Review"},
            "role": "reviewer",
            "sla_days": 10,
            "description": {
                "es": "Un arquitecto revisa los planos.",
                "en": "An architect reviews the plans.",
            },
        },
        {
            "key": "more_information",
            "label": {"es": "Falta información", "en": "More information needed"},
            "kind": "applicant",
        },
        {"key": "approved", "label": {"es": "Aprobada", "en": "Approved"}, "outcome": "approved"},
        {"key": "rejected", "label": {"es": "Rechazada", "en": "Rejected"}, "outcome": "rejected"},
    ],
    "actions": [
        {
            "key": "accept",
            "label": {"es": "Aceptar", "en": "Accept"},
            "roles": ["clerk"],
            "from": ["received"],
            "to": "review",
        },
        {
            "key": "renew",
            "label": {"es": "Renovar sin revisión", "en": "Renew without review"},
            "kind": "decision",
            "roles": ["clerk"],
            "from": ["received"],
            "to": "approved",
            "guard": "kind == 'renewal'",
        },
        {
            "key": "ask_for_information",
            "kind": "send_back",
            "label": {"es": "Pedir información", "en": "Ask for information"},
            "roles": ["reviewer"],
            "from": ["review"],
            "to": "more_information",
            "inputs": [
                {
                    "key": "reason",
                    "type": "textarea",
                    "label": {"es": "Qué falta", "en": "What is missing"},
                    "required": True,
                }
            ],
            "requirements": ["plano-de-construccion"],
        },
        {
            "key": "approve",
            "kind": "decision",
            "label": {"es": "Aprobar", "en": "Approve"},
            "roles": ["reviewer"],
            "from": ["review"],
            "to": "approved",
        },
        {
            "key": "reject",
            "kind": "decision",
            "label": {"es": "Rechazar", "en": "Reject"},
            "roles": ["reviewer", "supervisor"],
            "from": ["received", "review"],
            "to": "rejected",
            "inputs": [
                {"key": "reason", "type": "textarea", "label": {"es": "Motivo", "en": "Reason"}},
                {
                    "key": "ground",
                    "type": "choice",
                    "label": {"es": "Fundamento", "en": "Ground"},
                    "options": [
                        {"value": "zoning", "label": {"es": "Zonificación", "en": "Zoning"}},
                        {"value": "incomplete", "label": {"es": "Incompleta", "en": "Incomplete"}},
                    ],
                },
                {"key": "note", "type": "text", "label": {"es": "Nota", "en": "Note"}, "required": False},
            ],
        },
    ],
}


def permit() -> dict:
    """A fresh copy, so a test can break it without touching the others."""
    return copy.deepcopy(_PERMIT)


def state(document: dict, key: str) -> dict:
    return next(item for item in document["states"] if item["key"] == key)


def action(document: dict, key: str) -> dict:
    return next(item for item in document["actions"] if item["key"] == key)
