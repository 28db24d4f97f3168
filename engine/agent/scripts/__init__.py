"""Built-in agent scripts shipped as package data (a package so setuptools ships its ``*.yaml`` files)."""
