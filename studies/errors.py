"""Error types. Every error a user can trigger with bad input is a MemgenError whose message names
the offending file, line or value; the CLI prints it without a traceback."""


class MemgenError(Exception):
    """Base class of the errors memgen raises on purpose."""


class InputError(MemgenError, ValueError):
    """Bad input: a file, a line, a value or an argument that cannot be used. The message names it."""


class ArtifactError(MemgenError):
    """A cached artifact is missing, incomplete or fails its hash check."""


class MissingResourceError(MemgenError):
    """A required resource (real images, genuine LPIPS weights, ...) is not available offline."""


class JobFailedError(MemgenError):
    """A cluster job (Slurm, or submitit's local stand-in) of a zoo build failed, was cancelled or
    vanished; the message names the model, the job id, its state and the tail of its stderr."""
