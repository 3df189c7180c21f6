"""The report: pure trend tables, all drawing, and the HTML page."""
