copy of tap_builder/runtime/downloads.py
