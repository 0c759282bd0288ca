"""Render analysis results: finding cards, plots, the routing file and router configs."""
