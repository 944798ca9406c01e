"""Sightline demo LDM: the training recipe for the small embedded default model (see README.md)."""
