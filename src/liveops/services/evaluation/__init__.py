"""Evaluation: run a suite on a version (cases, checks, gates) and read the runs back."""

from __future__ import annotations

from liveops.services.evaluation.calibration import (
    Calibration,
    calibration_groups,
    fit_calibrator,
)
from liveops.services.evaluation.cases import (
    REVIEW_ITEM_COLUMN,
    compact_inputs,
    latest_regression,
    regression_dataset_name,
)
from liveops.services.evaluation.reference import stored_slices
from liveops.services.evaluation.runs import (
    EvalResult,
    Progress,
    get_run,
    list_runs,
    load_suite,
    run_eval,
)

__all__ = [
    "REVIEW_ITEM_COLUMN",
    "Calibration",
    "EvalResult",
    "Progress",
    "calibration_groups",
    "compact_inputs",
    "fit_calibrator",
    "get_run",
    "latest_regression",
    "list_runs",
    "load_suite",
    "regression_dataset_name",
    "run_eval",
    "stored_slices",
]
