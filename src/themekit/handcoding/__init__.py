"""The human side: drawing the comments to code and the interactive coder."""
