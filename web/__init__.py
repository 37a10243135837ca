"""The shop's demo page with the chat widget, and agent assist (`python -m web`, port 8080)."""
