"""Bundled data: the demo cluster snapshot."""
