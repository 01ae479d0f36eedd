"""The explain tests' three-causes fixture, shared with the cause-graph tests."""

from tests.explain.conftest import three_causes_findings, three_causes_state

__all__ = ["three_causes_findings", "three_causes_state"]
