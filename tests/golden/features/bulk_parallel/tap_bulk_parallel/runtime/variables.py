copy of tap_builder/runtime/variables.py
