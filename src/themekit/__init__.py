"""themekit: code social-media comments with a codebook, rules and a transformer model."""

from themekit.codebook import Codebook, load_codebook
from themekit.errors import CodebookError
from themekit.plugins.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["Codebook", "CodebookError", "hookimpl", "load_codebook", "__version__"]
