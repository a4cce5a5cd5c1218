"""The spaCy side: the themekit component, its matching, tier resolution, the pipeline and redaction."""
