"""Repositories: async, each over one area of the schema, mapping rows <-> domain models."""
