from .errors import SpineKeyError

__all__ = ['SpineKeyError']
