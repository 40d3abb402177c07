"""operator/api."""
