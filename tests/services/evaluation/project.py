"""An evaluation project on disk with its store, shared by the evaluation tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveops.services.evaluation import EvalResult, run_eval
from liveops.store import Store


@dataclass
class Project:
    root: Path
    store: Store

    def eval(self, ref: str, **kw: Any) -> EvalResult:
        return run_eval(self.store, ref, actor="ci", project_dir=self.root, resamples=50, **kw)
