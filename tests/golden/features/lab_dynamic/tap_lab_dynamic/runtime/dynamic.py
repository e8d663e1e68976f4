copy of tap_builder/runtime/dynamic.py
