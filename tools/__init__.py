"""Developer tools that run from a checkout of this repository and are not part of the installed packages."""
