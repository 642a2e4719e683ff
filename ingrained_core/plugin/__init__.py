"""The plugin toolkit: what a plugin author imports (contract types, parameters, errors, distortion).

This layer imports nothing else of ingrained_core; every other layer builds on it.
"""
