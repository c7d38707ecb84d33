"""The web side of the portal: pages, the JSON API, health and metrics, and their security."""
