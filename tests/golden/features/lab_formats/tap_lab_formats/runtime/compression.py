copy of tap_builder/runtime/compression.py
