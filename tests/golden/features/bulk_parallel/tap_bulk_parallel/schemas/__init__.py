"""JSON Schemas of the streams, one ``<stream id>.json`` file each."""
