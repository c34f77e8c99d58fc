"""OTLP codec helpers shared by the trace exporters (``tracing``), the receiver (``ingest``)
and the metrics File exporter (``export``): attribute values as text (:mod:`.values`) and
OTLP/JSON's hex trace and span ids (:mod:`.json_ids`). Importing the package loads no
protobuf.
"""
