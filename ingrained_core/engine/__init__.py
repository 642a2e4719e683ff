"""The engine: configuration, experiment preparation, the problem, registration and runs.

It finds plugins through the registry and builds on :mod:`ingrained_core.plugin` (and the
built-in plugins); it never imports the applications or the CLI.
"""
