copy of tap_builder/runtime/parallel.py
