"""memgen: tests the published claims about memorization vs. generalization in diffusion models."""

__version__ = "0.1.0"
