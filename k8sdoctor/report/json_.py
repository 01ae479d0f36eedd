"""``-o json``: the report as pretty-printed JSON."""

from __future__ import annotations

import json

from k8sdoctor.report.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
