"""Banyan: a job scheduler whose whole state is a folder of small files."""

__version__ = "0.1.0"
