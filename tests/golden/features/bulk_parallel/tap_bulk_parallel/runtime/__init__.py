copy of tap_builder/runtime/__init__.py
