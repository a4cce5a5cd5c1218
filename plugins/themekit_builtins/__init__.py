"""themekit's built-in plugins. Each module registers through the public hooks, exactly as a
third-party plugin would."""
