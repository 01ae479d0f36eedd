"""``-o yaml``: the report as YAML, same structure as the JSON."""

from __future__ import annotations

import yaml

from k8sdoctor.report.model import Report


def render(report: Report) -> str:
    return yaml.safe_dump(report.to_dict(), sort_keys=False, allow_unicode=True, width=100)
