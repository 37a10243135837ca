"""Custom Rasa NLU components (referenced by module path in config.yml).

The Rasa server imports this package when it loads the model; it then
installs our speed-ups for Rasa itself (components/speedups.py).
"""

from components import speedups

speedups.install()
