copy of tap_builder/runtime/xmlio.py
