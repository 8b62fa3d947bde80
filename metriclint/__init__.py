"""metriclint: find and fix misuse of Keras metrics, statically."""

__version__ = "0.1.0"

DOCS_URL = "https://github.com/metriclint/metriclint/blob/main/rules/{code}.md"
