"""Allows ``python -m k8sdoctor``."""

from k8sdoctor.cli import console_main

console_main()
