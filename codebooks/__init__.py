"""Built-in codebook files, shipped as package data (`themekit.codebook_files`)."""
