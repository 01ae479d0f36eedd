"""Evaluating LLM backends on labelled broken clusters: the bundled scenarios and their ground
truth (``scenario``)."""
