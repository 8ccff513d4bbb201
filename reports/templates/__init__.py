"""The HTML report's Jinja2 templates. This directory is installed as ``stsdebug.templates``
(pyproject.toml maps it), so a wheel, an editable install and the repository use these files."""
