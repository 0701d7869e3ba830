"""Relying parties of the provider. They talk HTTP to it and never import ``idp``."""
