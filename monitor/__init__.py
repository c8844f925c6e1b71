"""fairwatch's pipeline: the pure metric engine (`engine`), the streaming stages (`stream`), Kafka
connectors (`kafka`) and the sinks (`sinks`)."""

__version__ = "0.1.0"
