"""The prediction log and feedback: durable, batched, redacted storage of every answer.

The gateway opens one log per process with :func:`open_prediction_log` and hands it batches of
:class:`~liveops.core.serving.prediction.PredictionRecord`; feedback goes through
:func:`record_feedback`; :func:`purge_raw_inputs` enforces the raw-input retention.
"""

from __future__ import annotations

from liveops.services.predictions.direct import DirectLog
from liveops.services.predictions.feedback import FEEDBACK_KINDS, FeedbackResult, record_feedback
from liveops.services.predictions.log import LogSettings, PredictionLog, open_prediction_log
from liveops.services.predictions.redaction import InputRedactor
from liveops.services.predictions.retention import PurgeReport, purge_raw_inputs

__all__ = [
    "FEEDBACK_KINDS",
    "DirectLog",
    "FeedbackResult",
    "InputRedactor",
    "LogSettings",
    "PredictionLog",
    "PurgeReport",
    "open_prediction_log",
    "purge_raw_inputs",
    "record_feedback",
]
