"""Save the demo's v1 pipeline as an MLflow model (run in the ``bench/.venvs/mlflow`` venv).

``python peer_mlflow_save.py PIPELINE.joblib EXAMPLES.json OUT_DIR``

The pipeline is v1 with its TF-IDF step inside a ``ColumnTransformer`` on the ``text`` column
(MLflow hands the model a pandas DataFrame); the harness builds it in the project venv and
checks that it gives v1's scores. It is saved with ``mlflow.sklearn.save_model``, a signature
inferred from example rows, and ``pyfunc_predict_fn="predict_proba"`` so that
``mlflow models serve`` answers scores, like the other servers.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> None:
    import joblib
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    pipeline_path, examples_path, out_dir = argv
    pipeline = joblib.load(pipeline_path)
    with open(examples_path, encoding="utf-8") as f:
        texts = json.load(f)
    example = pd.DataFrame({"text": texts})
    signature = infer_signature(example, pipeline.predict_proba(example))
    mlflow.sklearn.save_model(
        pipeline,
        out_dir,
        signature=signature,
        pyfunc_predict_fn="predict_proba",
        input_example=example.head(2),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
