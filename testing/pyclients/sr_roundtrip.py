"""Third-party check of kdeck's Schema Registry and wire format with
Confluent's Python client (confluent-kafka with its schemaregistry and avro
extras). Run by cmd/kdeck's TestPythonConfluentClient:

    python sr_roundtrip.py BOOTSTRAP REGISTRY_URL

1. SchemaRegistryClient against kdeck's registry: register, get latest,
   lookup, compatibility checks (compatible and not), and the id dedup.
2. AvroSerializer produces 5 records to py.payments (read back by kdeck tail).
3. AvroDeserializer reads kdeck.payments (written by kdeck produce --schema)
   and prints each value as one JSON line prefixed with "kdeck-record ".
Prints "ok" last; any failure raises (non-zero exit).
"""
import json
import sys
from decimal import Decimal

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

bootstrap, registry = sys.argv[1], sys.argv[2]

SCHEMA = json.dumps({
    "type": "record", "name": "Payment", "namespace": "py",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "card", "type": ["null", "string"], "default": None},
    ],
})
COMPATIBLE = json.loads(SCHEMA)
COMPATIBLE["fields"].append({"name": "channel", "type": "string", "default": "web"})
INCOMPATIBLE = {"type": "record", "name": "Payment", "namespace": "py",
                "fields": [{"name": "id", "type": "string"}]}

sr = SchemaRegistryClient({"url": registry})
subject = "py.payments-value"
sid = sr.register_schema(subject, Schema(SCHEMA, "AVRO"))
again = sr.register_schema(subject, Schema(SCHEMA, "AVRO"))
assert sid == again, f"re-registering gave id {again}, first {sid}"
latest = sr.get_latest_version(subject)
assert latest.schema_id == sid and latest.version == 1, latest
looked = sr.lookup_schema(subject, Schema(SCHEMA, "AVRO"))
assert looked.schema_id == sid, looked
assert sr.test_compatibility(subject, Schema(json.dumps(COMPATIBLE), "AVRO")) is True
assert sr.test_compatibility(subject, Schema(json.dumps(INCOMPATIBLE), "AVRO")) is False
assert subject in sr.get_subjects()
assert sr.get_compatibility(subject_name=None) in ("BACKWARD", "backward"), sr.get_compatibility()
print("registry ok: id", sid)

ser = AvroSerializer(sr, SCHEMA, conf={"auto.register.schemas": False, "use.latest.version": True})
p = Producer({"bootstrap.servers": bootstrap})
for i in range(5):
    value = {"id": i, "customer": f"py-{i}", "amount": Decimal(f"{i}.25"), "card": None if i % 2 else f"card-{i}"}
    p.produce("py.payments", key=f"py-{i}".encode(),
              value=ser(value, SerializationContext("py.payments", MessageField.VALUE)))
assert p.flush(15) == 0, "records left unflushed"
print("produced 5 to py.payments")

de = AvroDeserializer(sr)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-sr-check", "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe(["kdeck.payments"])
want = int(sys.argv[3]) if len(sys.argv) > 3 else 3
got = 0
for _ in range(60):
    m = c.poll(1.0)
    if m is None:
        if got >= want:
            break
        continue
    if m.error():
        raise RuntimeError(m.error())
    v = de(m.value(), SerializationContext(m.topic(), MessageField.VALUE))
    print("kdeck-record " + json.dumps(v, default=str, sort_keys=True))
    got += 1
    if got >= want:
        break
c.close()
assert got == want, f"read {got} kdeck records, want {want}"

# 4. ProtobufSerializer (it registers the schema as a base64
#    FileDescriptorProto) writes py.clicks; kdeck tail decodes it.
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

fdp = descriptor_pb2.FileDescriptorProto(name="py/click.proto", package="py", syntax="proto3")
m = fdp.message_type.add(name="Click")
F = descriptor_pb2.FieldDescriptorProto
m.field.add(name="user", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
m.field.add(name="at", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
m.field.add(name="tags", number=3, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
pool = descriptor_pool.DescriptorPool()
pool.Add(fdp)
Click = message_factory.GetMessageClass(pool.FindMessageTypeByName("py.Click"))
pser = ProtobufSerializer(Click, sr, {"use.deprecated.format": False})
for i in range(3):
    p.produce("py.clicks", key=f"u{i}".encode(),
              value=pser(Click(user=f"u{i}", at=1000 + i, tags=["a", str(i)]), SerializationContext("py.clicks", MessageField.VALUE)))
assert p.flush(15) == 0
print("produced 3 to py.clicks")

# 5. ProtobufDeserializer reads kdeck.clicks (kdeck produce --schema with a
#    .proto text schema).
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer

pde = ProtobufDeserializer(Click, {"use.deprecated.format": False})
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-sr-check-pb", "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe(["kdeck.clicks"])
got = 0
for _ in range(60):
    msg = c.poll(1.0)
    if msg is None:
        continue
    if msg.error():
        raise RuntimeError(msg.error())
    v = pde(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
    print("kdeck-click " + json.dumps({"user": v.user, "at": v.at, "tags": list(v.tags)}, sort_keys=True))
    got += 1
    if got >= 2:
        break
c.close()
assert got == 2, f"read {got} kdeck clicks, want 2"
print("ok")
