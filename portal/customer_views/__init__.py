"""What customers see, gathered from the catalog, billing and the provisioner.

The pages' handlers stay thin: each asks one function here for a ready-made view (plain
dataclasses the templates read) and renders it. These live in the portal because they
span billing and the provisioner, which never import each other.
"""
