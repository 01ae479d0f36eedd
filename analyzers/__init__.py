"""k8sdoctor's built-in analyzers, one module per area, installed as ``k8sdoctor.analyzers``.

Each module declares ``ANALYZER`` and is registered in the ``k8sdoctor.analyzers`` entry-point
group, the same way a third-party plugin is.
"""
