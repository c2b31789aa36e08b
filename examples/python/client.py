#!/usr/bin/env python3
"""A Python client of the tagging service over gRPC.

It generates the stubs from the repository's `proto/` with grpcio-tools into a temporary
directory at run time, then tags resources, reads one resource's tags, lists resources by a tag
filter and removes a tag, checking every answer it reads back.

    python3 -m venv venv && venv/bin/pip install -r examples/python/requirements.txt
    TAGGING_TOKEN=$TOKEN venv/bin/python examples/python/client.py 127.0.0.1:50051

The token is one of `tagging-service token create --project P` (read-write). The resources are
clusters `py-1` and `py-2` of the token's project; the run may be repeated.
"""

import os
import pathlib
import sys
import tempfile

PROTO_ROOT = pathlib.Path(__file__).resolve().parents[2] / "proto"
PROTOS = [
    "tagging/v1/tagging.proto",
    "google/api/annotations.proto",
    "google/api/http.proto",
]
# The catalogue's type, and the qualified name the service answers with (the default catalogue).
TYPE = "CLUSTER"
QUALIFIED_TYPE = "ALIYUN::CS::CLUSTER"


def generate(into: str) -> None:
    """Writes the Python messages and stubs of PROTOS under `into`."""
    import grpc_tools
    from grpc_tools import protoc

    # google/protobuf/descriptor.proto, which google/api/annotations.proto imports, ships with
    # grpcio-tools.
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(
        ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}"]
        + [f"--python_out={into}", f"--grpc_python_out={into}"]
        + [str(PROTO_ROOT / p) for p in PROTOS]
    )
    if status != 0:
        raise SystemExit(f"protoc failed with status {status}")


def main() -> None:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    token = os.environ["TAGGING_TOKEN"]
    with tempfile.TemporaryDirectory(prefix="tagging-stubs-") as generated:
        generate(generated)
        sys.path.insert(0, generated)
        run(address, token)


def run(address: str, token: str) -> None:
    import grpc
    from tagging.v1 import tagging_pb2 as pb
    from tagging.v1 import tagging_pb2_grpc

    # Every call carries the token; the project is the token's, so no request names one.
    auth = [("authorization", f"Bearer {token}")]
    with grpc.insecure_channel(address) as channel:
        client = tagging_pb2_grpc.TaggingServiceStub(channel)

        def resource_tags(resource_id: str) -> dict:
            answer = client.ListResourceTags(
                pb.ListResourceTagsRequest(resource_type=TYPE, resource_id=resource_id),
                metadata=auth,
            )
            return {t.key: t.value for t in answer.tags}

        # Tag two clusters, then move one of them to another environment (a tag is overwritten).
        client.TagResources(
            pb.TagResourcesRequest(
                resource_type=TYPE,
                resource_ids=["py-1", "py-2"],
                tags=[pb.Tag(key="env", value="dev"), pb.Tag(key="example", value="python")],
            ),
            metadata=auth,
        )
        client.TagResources(
            pb.TagResourcesRequest(
                resource_type=TYPE, resource_ids=["py-2"], tags=[pb.Tag(key="env", value="prod")]
            ),
            metadata=auth,
        )
        print("tagged py-1 and py-2")

        # One resource's tags.
        tags = resource_tags("py-1")
        assert tags == {"env": "dev", "example": "python"}, tags
        print("py-1 has", tags)

        # Resources by tag filter: every entry must match, and within an entry any of its values.
        found = client.ListResources(
            pb.ListResourcesRequest(
                resource_type=TYPE,
                tags=[
                    pb.TagFilter(key="example", values=["python"]),
                    pb.TagFilter(key="env", values=["prod"]),
                ],
            ),
            metadata=auth,
        )
        ids = [r.resource_id for r in found.resources]
        assert ids == ["py-2"], ids
        assert found.resources[0].resource_type == QUALIFIED_TYPE, found.resources[0]
        assert {t.key: t.value for t in found.resources[0].tags} == {
            "env": "prod",
            "example": "python",
        }, found.resources[0]
        assert found.next_token == "", "one page"
        print("example=python and env=prod:", ids)

        # Remove a tag; the other stays.
        client.UntagResources(
            pb.UntagResourcesRequest(resource_type=TYPE, resource_ids=["py-1"], tag_keys=["env"]),
            metadata=auth,
        )
        tags = resource_tags("py-1")
        assert tags == {"example": "python"}, tags
        print("untagged env from py-1, which now has", tags)

        # A broken rule is refused with INVALID_ARGUMENT naming the field.
        try:
            client.TagResources(
                pb.TagResourcesRequest(
                    resource_type=TYPE, resource_ids=["py-1"], tags=[pb.Tag(key="acs:x", value="1")]
                ),
                metadata=auth,
            )
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
            assert "tags[0].key" in e.details(), e.details()
            print("a reserved key is refused:", e.details())
        else:
            raise AssertionError("a key under a reserved prefix was accepted")

    print("python example: OK")


if __name__ == "__main__":
    main()
