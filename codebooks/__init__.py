"""Built-in codebook files, shipped as package data (`themekit_codebooks`)."""
