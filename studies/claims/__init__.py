"""The claims machinery: the registry of published claims (SPEC §8; ``registry.py``, each claim's
facts once), verdicts and run statuses (``verdict.py``), the decision rules (``rules.py``) and their
operating characteristics (``operating.py``), registered expectations and thresholds with provenance
(``expectations.py``; files under ``claims/``), and the pytest plugin (``plugin.py``, recorder
``recorder.py``) that turns a claim test into a verdict in ``reports/verdict.{json,html}``."""
