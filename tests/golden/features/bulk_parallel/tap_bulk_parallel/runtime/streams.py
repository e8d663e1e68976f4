copy of tap_builder/runtime/streams.py
