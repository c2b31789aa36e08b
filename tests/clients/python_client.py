#!/usr/bin/env python3
"""A Python client of the tagging service, on code generated from `proto/` by grpcio-tools.

Usage: python_client.py GENERATED_DIR ADDRESS, with the token in the TAGGING_TOKEN environment
variable. GENERATED_DIR holds the output of

    python -m grpc_tools.protoc -I proto --python_out=DIR --grpc_python_out=DIR \
        proto/tagging/v1/tagging.proto proto/google/api/annotations.proto \
        proto/google/api/http.proto proto/google/rpc/error_details.proto

The client tags two clusters, reads the tags of one, lists the resources carrying a tag, breaks a
rule (a reserved key prefix) and calls without a token, then prints one JSON object with every
answer, which `tests/api/clients.rs` compares with what the service must answer. It also prints the
`google.api.http` route of every RPC as read from the generated descriptors.
"""

import json
import os
import sys


def main() -> None:
    generated, address = sys.argv[1], sys.argv[2]
    token = os.environ["TAGGING_TOKEN"]
    sys.path.insert(0, generated)

    import grpc
    from google.api import annotations_pb2
    from google.protobuf import (
        any_pb2,
        descriptor_pb2,
        descriptor_pool,
        json_format,
        message_factory,
    )
    from google.rpc import error_details_pb2
    from tagging.v1 import tagging_pb2, tagging_pb2_grpc

    def as_dict(message):
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    # google.rpc.Status, the message of `grpc-status-details-bin`, is not among the protos of the
    # project: declare it from its published field numbers.
    status_file = descriptor_pb2.FileDescriptorProto(
        name="python_client/status.proto",
        package="python_client",
        syntax="proto3",
        dependency=[any_pb2.DESCRIPTOR.name],
    )
    status = status_file.message_type.add(name="Status")
    field = descriptor_pb2.FieldDescriptorProto
    status.field.add(name="code", number=1, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    status.field.add(name="message", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    status.field.add(
        name="details",
        number=3,
        type=field.TYPE_MESSAGE,
        label=field.LABEL_REPEATED,
        type_name=".google.protobuf.Any",
    )
    pool = descriptor_pool.Default()
    pool.AddSerializedFile(status_file.SerializeToString())
    Status = message_factory.GetMessageClass(pool.FindMessageTypeByName("python_client.Status"))

    def error(err):
        """The code, message and BadRequest field violations of a failed call."""
        answer = {"code": err.code().name, "message": err.details()}
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                details = Status.FromString(value)
                violations = []
                for detail in details.details:
                    bad_request = error_details_pb2.BadRequest()
                    if detail.Unpack(bad_request):
                        violations.extend(as_dict(v) for v in bad_request.field_violations)
                answer["field_violations"] = violations
        return answer

    Tag = tagging_pb2.Tag
    authorization = (("authorization", f"Bearer {token}"),)
    out = {}

    with grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        stub = tagging_pb2_grpc.TaggingServiceStub(channel)

        out["tag_resources"] = as_dict(
            stub.TagResources(
                tagging_pb2.TagResourcesRequest(
                    resource_type="CLUSTER",
                    resource_ids=["c-1", "c-2"],
                    tags=[Tag(key="env", value="dev"), Tag(key="team", value="IT")],
                ),
                metadata=authorization,
                timeout=30,
            )
        )
        out["list_resource_tags"] = as_dict(
            stub.ListResourceTags(
                tagging_pb2.ListResourceTagsRequest(
                    resource_type="CLUSTER",
                    resource_id="c-1",
                    resource_id_type=tagging_pb2.RESOURCE_ID_TYPE_ID,
                ),
                metadata=authorization,
                timeout=30,
            )
        )
        out["list_tag_resources"] = as_dict(
            stub.ListTagResources(
                tagging_pb2.ListTagResourcesRequest(
                    resource_type="CLUSTER", tags=[Tag(key="team", value="IT")]
                ),
                metadata=authorization,
                timeout=30,
            )
        )

        try:
            stub.TagResources(
                tagging_pb2.TagResourcesRequest(
                    resource_type="CLUSTER",
                    resource_ids=["c-1"],
                    tags=[Tag(key="acs:owner", value="python")],
                ),
                metadata=authorization,
                timeout=30,
            )
            out["reserved_prefix"] = "accepted"
        except grpc.RpcError as err:
            out["reserved_prefix"] = error(err)

        try:
            stub.ListResourceTags(
                tagging_pb2.ListResourceTagsRequest(resource_type="CLUSTER", resource_id="c-1"),
                timeout=30,
            )
            out["without_token"] = "accepted"
        except grpc.RpcError as err:
            out["without_token"] = {"code": err.code().name}

    service = tagging_pb2.DESCRIPTOR.services_by_name["TaggingService"]
    out["http_rules"] = {
        method.name: as_dict(method.GetOptions().Extensions[annotations_pb2.http])
        for method in service.methods
    }
    out["annotations_from"] = os.path.relpath(annotations_pb2.__file__, generated)

    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
