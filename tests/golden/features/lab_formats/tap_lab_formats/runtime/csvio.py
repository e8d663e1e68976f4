copy of tap_builder/runtime/csvio.py
