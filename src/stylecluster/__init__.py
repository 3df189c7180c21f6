"""stylecluster: outfit-style clustering and monthly trend reports for social-media posts."""

__version__ = "0.1.0"
