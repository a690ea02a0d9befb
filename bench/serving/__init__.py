"""The serving benchmark: liveops serve against MLflow, BentoML and bare Starlette endpoints."""
