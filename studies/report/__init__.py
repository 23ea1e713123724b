"""The verdict report: JSON of every claim run, and HTML rendered from that JSON with jinja2."""
