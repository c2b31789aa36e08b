"""Both clouds' official SDKs over HTTPS, each trusting the service's CA through its own option.

    python sdk_https.py ENDPOINT ACCESS_KEY_ID SECRET PROJECT CA_FILE STRANGER_CA_FILE

ENDPOINT is `https://localhost:PORT`. Each SDK tags a resource and reads it back with CA_FILE as
its trust anchor, then fails to call with STRANGER_CA_FILE (a CA that did not sign the server's
certificate). Prints one JSON line: what each SDK did, and which refused the stranger.
"""

import json
import sys
import urllib.parse

from alibabacloud_cs20151215 import models as ack
from alibabacloud_cs20151215.client import Client as AckClient
from alibabacloud_tea_openapi import models as open_api_models
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdksmn.v2 import SmnClient
from huaweicloudsdksmn.v2 import model as smn

REGION = "cn-hangzhou"


def ack_client(endpoint, key_id, secret, ca):
    return AckClient(
        open_api_models.Config(
            access_key_id=key_id,
            access_key_secret=secret,
            endpoint=urllib.parse.urlsplit(endpoint).netloc,
            protocol="https",
            region_id=REGION,
            ca=ca,
        )
    )


def smn_client(endpoint, key_id, secret, project, ca):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = False
    config.ssl_ca_cert = ca
    config.retry_times = 0
    return (
        SmnClient.new_builder()
        .with_credentials(BasicCredentials(key_id, secret, project))
        .with_endpoint(endpoint)
        .with_http_config(config)
        .build()
    )


def ack_round_trip(client):
    client.tag_resources(
        ack.TagResourcesRequest(
            region_id=REGION,
            resource_type="CLUSTER",
            resource_ids=["c-https"],
            tags=[ack.Tag(key="env", value="tls")],
        )
    )
    listed = client.list_tag_resources(
        ack.ListTagResourcesRequest(region_id=REGION, resource_type="CLUSTER", resource_ids=["c-https"])
    )
    rows = [(r.resource_id, r.tag_key, r.tag_value) for r in listed.body.tag_resources.tag_resource]
    assert rows == [("c-https", "env", "tls")], rows
    return "tagged and listed"


def smn_round_trip(client):
    client.create_resource_tag(
        smn.CreateResourceTagRequest(
            resource_type="smn_topic",
            resource_id="t-https",
            body=smn.CreateResourceTagRequestBody(tag=smn.ResourceTag(key="env", value="tls")),
        )
    )
    listed = client.list_resource_tags(smn.ListResourceTagsRequest(resource_type="smn_topic", resource_id="t-https"))
    pairs = [(t.key, t.value) for t in listed.tags or []]
    assert pairs == [("env", "tls")], pairs
    return "tagged and listed"


def refused(call):
    """Whether `call` failed on the server's certificate; what it did otherwise goes to stderr."""
    try:
        call()
    except Exception as e:  # each SDK wraps the TLS failure in an exception of its own
        text = " ".join([repr(e), str(e), str(getattr(e, "error_msg", ""))])
        if "certificate verify failed" in text.lower():
            return True
        print("refused otherwise:", text[:2000], file=sys.stderr)
        return False
    print("not refused", file=sys.stderr)
    return False


def main():
    endpoint, key_id, secret, project, ca, stranger = sys.argv[1:7]
    # The stranger first: the ACK SDK keeps connections open across clients, and a connection
    # opened with the right CA would carry the stranger's call.
    untrusted = []
    if refused(lambda: ack_round_trip(ack_client(endpoint, key_id, secret, stranger))):
        untrusted.append("ack")
    if refused(lambda: smn_round_trip(smn_client(endpoint, key_id, secret, project, stranger))):
        untrusted.append("smn")
    summary = {
        "ack": ack_round_trip(ack_client(endpoint, key_id, secret, ca)),
        "smn": smn_round_trip(smn_client(endpoint, key_id, secret, project, ca)),
        "untrusted": untrusted,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
