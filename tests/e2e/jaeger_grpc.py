"""Jaeger's query API v3 over gRPC (``jaeger.api_v3.QueryService/FindTraces``), the one v3 transport that
takes ``attributes``. Jaeger publishes no Python package for it, so the request messages are declared here
from its ``query_service.proto`` (the fields the tests use, same names and numbers) with protobuf's own
descriptor machinery; the answers are OTLP ``TracesData``, read with opentelemetry-proto.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

FIND_TRACES = "/jaeger.api_v3.QueryService/FindTraces"
_F = descriptor_pb2.FieldDescriptorProto


def _field(
    message: Any, name: str, number: int, kind: int, type_name: str = "", repeated: bool = False
) -> None:
    label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    field = message.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = type_name


def _find_traces_request_class() -> Any:
    proto = descriptor_pb2.FileDescriptorProto(
        name="jaeger/api_v3/query_service_subset.proto", package="jaeger.api_v3", syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    params = proto.message_type.add(name="TraceQueryParameters")
    entry = params.nested_type.add(name="AttributesEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, _F.TYPE_STRING)
    _field(params, "service_name", 1, _F.TYPE_STRING)
    _field(params, "attributes", 3, _F.TYPE_MESSAGE, ".jaeger.api_v3.TraceQueryParameters.AttributesEntry",
           repeated=True)
    _field(params, "start_time_min", 4, _F.TYPE_MESSAGE, ".google.protobuf.Timestamp")
    _field(params, "start_time_max", 5, _F.TYPE_MESSAGE, ".google.protobuf.Timestamp")
    _field(params, "search_depth", 8, _F.TYPE_INT32)
    request = proto.message_type.add(name="FindTracesRequest")
    _field(request, "query", 1, _F.TYPE_MESSAGE, ".jaeger.api_v3.TraceQueryParameters")
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("jaeger.api_v3.FindTracesRequest"))


FindTracesRequest = _find_traces_request_class()


def find_trace_ids(
    endpoint: str, service: str, attributes: Mapping[str, str], start: datetime, end: datetime
) -> set[str]:
    """Hex ids of the traces ``FindTraces`` answers for ``service`` with ``attributes`` in [start, end]."""
    request = FindTracesRequest()
    request.query.service_name = service
    request.query.attributes.update(attributes)
    request.query.start_time_min.FromDatetime(start)
    request.query.start_time_max.FromDatetime(end)
    request.query.search_depth = 100
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_stream(
            FIND_TRACES, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=TracesData.FromString,
        )
        try:
            chunks = list(call(request, timeout=10))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:  # Jaeger's answer when nothing matches
                return set()
            raise
    return {
        span.trace_id.hex()
        for chunk in chunks for resource_spans in chunk.resource_spans
        for scope_spans in resource_spans.scope_spans for span in scope_spans.spans
    }
