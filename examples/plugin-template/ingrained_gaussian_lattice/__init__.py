"""A minimal third-party ingrained plugin (the plugin-author guide's worked example)."""
