"""Allows ``python -m k8sdoctor``."""

from k8sdoctor.cli import main

main()
