"""Subcommands of the fairwatch CLI, one module each."""
