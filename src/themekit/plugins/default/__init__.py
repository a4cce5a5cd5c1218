"""The built-in plugins, registered exactly like third-party ones (simonw/llm's default_plugins)."""
