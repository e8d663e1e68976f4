copy of tap_builder/runtime/rendering.py
