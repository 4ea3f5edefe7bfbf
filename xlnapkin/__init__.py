"""xlnapkin: first-principles LLM serving capacity and cost estimates, for Excel and Python."""

__version__ = "0.1.0"
