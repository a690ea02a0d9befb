"""``GET /v1/services/{name}/describe`` on a real gateway with keys: a viewer gets the same map
``liveops describe --json`` prints; no key is 401, a predictor key 403, an unknown service 404."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.cli_runner import Runner
from tests.server.conftest import Server
from tests.server.test_access import make_keys
from tests.tabular import TABULAR_YAML, train_cancer

YAML = TABULAR_YAML.replace(
    "      below_threshold: human_review\n",
    "      below_threshold: human_review\n"
    "    alerts:\n      - {name: errors, metric: error_rate, above: 0.05, severity: page}\n",
)


def test_describe_over_http_with_a_viewer_key(
    run_cli: Runner, serve: Callable[..., Server], tmp_path: Path
) -> None:
    (tmp_path / "liveops.yaml").write_text(YAML)
    assert run_cli("service", "apply").code == 0
    for n, c in ((1, 1.0), (2, 0.5)):
        model = train_cancer(tmp_path / f"m{n}.skops", c=c)
        extra = ["-c", "fallback=cancer@1"] if n == 2 else []
        assert run_cli("register", "cancer", "--artifact", str(model), *extra).code == 0
    assert run_cli("alias", "set", "cancer", "production", "2").code == 0
    keys = make_keys(tmp_path)
    server = serve(project=tmp_path, auth=True)
    url = f"{server.url}/v1/services/cancer/describe"

    def get(url: str, role: str | None) -> httpx.Response:
        headers = {"authorization": f"Bearer {keys[role]}"} if role else {}
        return httpx.get(url, headers=headers, timeout=10)

    r = get(url, "viewer")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer == run_cli("describe", "cancer", "--json").json()
    assert answer["traffic"] == [{"arm": "production", "version": 2, "share": 1.0, "role": "live"}]
    assert answer["versions"][1]["fallback_chain"] == ["cancer@2", "cancer@1", "503"]
    assert [a["name"] for a in answer["alert_rules"]] == ["errors"]

    assert get(url, None).status_code == 401
    refused = get(url, "predictor")
    assert refused.status_code == 403
    assert keys["predictor"] not in refused.text
    missing = get(f"{server.url}/v1/services/nope/describe", "viewer")
    assert missing.status_code == 404
    assert "applied services: cancer" in missing.json()["message"]

    doc = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    entry = doc["paths"]["/v1/services/{name}/describe"]["get"]
    assert entry["operationId"] == "service_describe"
    assert "`read`" in entry["description"]
