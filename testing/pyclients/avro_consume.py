"""Reads N records of a topic with confluent-kafka's AvroDeserializer and
writes each value as a JSON line to stdout: the Python side of
scripts/bench-schemas.sh.

    python avro_consume.py BOOTSTRAP REGISTRY_URL TOPIC N
"""
import json
import sys

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

bootstrap, registry, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
de = AvroDeserializer(SchemaRegistryClient({"url": registry}))
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-py-avro", "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([topic])
out = sys.stdout
ctx = SerializationContext(topic, MessageField.VALUE)
got = 0
while got < n:
    for m in c.consume(10000, 1.0):
        if m.error():
            raise RuntimeError(m.error())
        out.write(json.dumps(de(m.value(), ctx), default=str))
        out.write("\n")
        got += 1
c.close()
