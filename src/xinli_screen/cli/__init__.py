"""Command-line interface (typer): ``xinli-screen score``, ``instruments``, ``example-data``."""
