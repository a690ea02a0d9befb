"""Which logged answers fall in each slice, for a text service whose suite names no text field."""

from __future__ import annotations

from pathlib import Path

from liveops.core.clock import SystemClock
from liveops.core.project import parse_project
from liveops.services.monitoring.scopes import scopes_for
from liveops.services.registry import apply_project
from liveops.store import Store

PROJECT = """
services:
  - name: tickets-fr
    owner: sav@example.com
    inputs:
      texte: {type: string, required: true}
      text: {type: string, required: true}
      canal: {type: enum, values: [mail, chat]}
    model_inputs: [texte, text]
    output: {labels: [facturation, technique]}
    suite: suite.yaml
"""
SUITE = """cases: {dataset: tickets-eval, expected: label}
slices:
  - {name: court, where: {text_length: {lt: 20}}}
  - {name: chat-court, where: {canal: chat, text_length: {lt: 20}}}
"""


def test_a_text_length_slice_measures_the_text_field_the_evaluation_would(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "suite.yaml").write_text(SUITE)
    spec = parse_project(PROJECT)
    apply_project(store, spec, actor="ann")
    scopes = scopes_for(store, spec.services[0], tmp_path, SystemClock())
    inputs = [
        {"texte": "x" * 80, "text": "ma facture", "canal": "chat"},  # short text, long texte
        {"texte": "y", "text": "le modem ne se connecte plus depuis hier", "canal": "chat"},
        {"texte": "z", "text": "remboursement ?", "canal": "mail"},
    ]
    masks = scopes.masks(inputs, {"canal": [r["canal"] for r in inputs]}, len(inputs))
    assert masks["court"].tolist() == [True, False, True]
    assert masks["chat-court"].tolist() == [True, False, False]
