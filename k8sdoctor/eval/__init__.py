"""``k8sdoctor eval``: scoring LLM backends on labelled broken clusters - the bundled scenarios
and their ground truth (``scenario``), the explain runs (``runner``), the judge-free scoring
(``score``, ``kubectl``), the optional LLM judge (``judge``), the figures per model
(``summary``) and what is printed (``output``, ``cli``)."""
