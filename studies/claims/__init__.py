"""The claims machinery: the registry of published claims (SPEC §8), verdicts, registered
expectations and thresholds with provenance, and the pytest plugin that turns a claim test into a
verdict in ``reports/verdict.{json,html}``."""
