"""The error hierarchy: every message names what failed and the next step."""


class AssistantError(Exception):
    """Base class; the CLI prints the message on one line and exits non-zero."""

    exit_code = 1


class ConfigError(AssistantError):
    """A setting is missing or invalid."""

    exit_code = 2


class InputError(AssistantError):
    """A path or file given by the user cannot be used."""

    exit_code = 2


class StoreError(AssistantError):
    """The vector store cannot be opened or used as asked."""


class EmbedderMismatchError(StoreError):
    """The store was built with another embedder."""


class StoreBusyError(StoreError):
    """Another process is writing to the store."""

    exit_code = 3


class LLMError(AssistantError):
    """The language model service failed; the message says why and how to fix it."""


class EvalError(AssistantError):
    """A question file cannot be evaluated."""

    exit_code = 2
