copy of tap_builder/runtime/typedtext.py
