"""The studio: a local web app over the same core API the command line uses.

``tap-builder studio [SPEC]`` serves it on 127.0.0.1 (see :mod:`.server`); it
needs the ``studio`` extra (``pip install 'tap-builder[studio]'``).
"""

from __future__ import annotations
