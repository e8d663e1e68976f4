copy of tap_builder/runtime/hooks.py
