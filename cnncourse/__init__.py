"""cnncourse: the library behind the course book on convolutional neural networks.

Each module teaches one concept; the lessons in ``lessons/`` import from here.
"""

__all__: list[str] = []

__version__ = "0.1.0"
