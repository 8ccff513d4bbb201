"""TUI widgets, one module per part of the screen."""
