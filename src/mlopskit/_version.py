"""The package version, the single source read by the build (hatchling)."""

__version__ = "0.1.0.dev0"
