"""The one exception type that tools turn into a single clear line instead of a traceback."""


class SpineKeyError(Exception):
    """A user-facing problem with input (file, annotation, config, checkpoint); the message names it."""
