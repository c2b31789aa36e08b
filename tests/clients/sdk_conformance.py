"""Drives a tagging service with the clouds' official SDKs, unmodified, and checks what they return.

    python sdk_conformance.py ENDPOINT ACCESS_KEY_ID SECRET PROJECT
        [--read-only-key ID SECRET] [--named RESOURCE_ID=NAME ...]

ENDPOINT is the service's base URL (`http://127.0.0.1:PORT`); the key pair is one of
`tagging-service credential create --project PROJECT`, on an empty project. `--named` says which
`smn_topic` resources were registered with a name beforehand (no SDK call sets names): the run
expects `t-1=orders` for its `matches` checks. Both forms run every tag call their SDK offers; then
the refusals: wrong secret, unknown key, replayed nonce, altered request, skewed clock, read-only
key writing, another project's path, malformed signature. Only the official SDKs make the calls;
the standard library re-sends a request the SDK signed, as is or altered.

Prints one JSON line, `{"calls": {"ack", "smn", "resent"}, "assertions", "failures": [...]}`, and
exits 1 if any check failed.
"""

import argparse
import datetime
import http.client
import json
import sys
import traceback
import urllib.parse

from alibabacloud_cs20151215 import models as ack
from alibabacloud_cs20151215.client import Client as AckClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi import utils as acs_utils
from alibabacloud_tea_openapi.exceptions import ClientException as AckClientError
from darabonba.core import DaraCore
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_client import HttpClient
from huaweicloudsdkcore.signer import signer as huawei_signer
from huaweicloudsdksmn.v2 import SmnClient
from huaweicloudsdksmn.v2 import model as smn

REGION = "cn-hangzhou"
TOPIC = "smn_topic"
SKEW = datetime.timedelta(minutes=20)
ACK_STATUS = 401
SMN_STATUS = 403


class Failed(Exception):
    pass


class Run:
    def __init__(self):
        self.calls = {"ack": 0, "smn": 0, "resent": 0}
        self.assertions = 0
        self.failures = []

    def check(self, ok, what):
        self.assertions += 1
        if not ok:
            raise Failed(what)

    def equal(self, got, expected, what):
        self.check(got == expected, "%s: got %r, expected %r" % (what, got, expected))

    def case(self, name, body):
        """Runs one scenario; a failed check or an unexpected exception is one failure."""
        try:
            body()
        except Failed as e:
            self.failures.append("%s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001 - every surprise is a reported failure
            detail = traceback.format_exception_only(type(e), e)[-1].strip()
            self.failures.append("%s: unexpected %s" % (name, detail))
            traceback.print_exc(file=sys.stderr)

    def ack(self, call, *args):
        self.calls["ack"] += 1
        return call(*args)

    def smn(self, call, *args):
        self.calls["smn"] += 1
        return call(*args)

    def ack_refused(self, what, status, code, call, *args):
        """The ACK SDK raised an error carrying the service's status, code, message and request id."""
        try:
            self.ack(call, *args)
        except AckClientError as e:
            body = e.data or {}
            self.equal((e.status_code, e.code), (status, code), what)
            self.check(bool(body.get("message")), "%s: the body has a message: %r" % (what, body))
            self.check(
                body["message"] in e.message,
                "%s: the SDK's message %r carries the service's %r" % (what, e.message, body["message"]),
            )
            self.check(
                bool(e.request_id) and e.request_id == body.get("request_id") == body.get("requestId"),
                "%s: the SDK's request id %r is the body's %r" % (what, e.request_id, body),
            )
            return e
        raise Failed("%s: the ACK SDK raised no error" % what)

    def smn_refused(self, what, status, code, call, *args):
        """The SMN SDK raised an error carrying the service's status, code, message and request id."""
        try:
            self.smn(call, *args)
        except ClientRequestException as e:
            self.equal((e.status_code, e.error_code), (status, code), what)
            self.check(bool(e.error_msg), "%s: the error has a message" % what)
            self.check(bool(e.request_id), "%s: the SDK read a request id from X-Request-Id" % what)
            return e
        raise Failed("%s: the SMN SDK raised no error" % what)


# ---------------------------------------------------------------------------------------------
# Clients and the SDKs' seams


def ack_client(endpoint, key_id, secret):
    netloc = urllib.parse.urlsplit(endpoint).netloc
    return AckClient(
        open_api_models.Config(
            access_key_id=key_id,
            access_key_secret=secret,
            endpoint=netloc,
            protocol="http",
            region_id=REGION,
        )
    )


def smn_client(endpoint, key_id, secret, project):
    return (
        SmnClient.new_builder()
        .with_credentials(BasicCredentials(key_id, secret, project))
        .with_endpoint(endpoint)
        .build()
    )


class Held(Exception):
    """Raised in place of sending: the SDK built and signed the request, and it was kept."""


class Request:
    def __init__(self, method, url, headers, body):
        self.method = method
        self.url = url
        self.headers = dict(headers)
        self.body = body.encode("utf-8") if isinstance(body, str) else (body or b"")

    def altered(self, url=None, body=None):
        return Request(self.method, url or self.url, self.headers, self.body if body is None else body)


class Patch:
    """Sets attributes for the length of a `with` block."""

    def __init__(self, *changes):
        self.changes = changes

    def __enter__(self):
        self.saved = [(o, n, o.__dict__[n]) for o, n, _ in self.changes]
        for owner, name, value in self.changes:
            setattr(owner, name, value)

    def __exit__(self, *exc):
        for owner, name, value in self.saved:
            setattr(owner, name, value)


def ack_held(call, *args):
    """The request the ACK SDK signs for `call`, not sent."""
    held = []

    def hold(request, _runtime=None):
        held.append(
            Request(request.method, DaraCore.compose_url(request), request.headers, request.body)
        )
        raise Held()

    with Patch((DaraCore, "do_action", staticmethod(hold))):
        try:
            call(*args)
        except Exception:  # the SDK wraps Held in its own exception
            pass
    assert len(held) == 1, "the ACK SDK built %d requests" % len(held)
    return held[0]


def smn_held(call, *args):
    """The request the SMN SDK signs for `call`, not sent."""
    held = []

    def hold(_client, request):
        held.append(Request(request.method, request.url, request.header_params, request.body))
        raise Held()

    with Patch((HttpClient, "do_request_sync", hold)):
        try:
            call(*args)
        except Held:
            pass
    assert len(held) == 1, "the SMN SDK built %d requests" % len(held)
    return held[0]


def send(run, request):
    """Sends `request` as is; answers (status, JSON body or None, headers)."""
    run.calls["resent"] += 1
    url = urllib.parse.urlsplit(request.url)
    conn = http.client.HTTPConnection(url.netloc, timeout=30)
    target = url.path + ("?" + url.query if url.query else "")
    conn.request(request.method, target, body=request.body or None, headers=request.headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return response.status, body, {k.lower(): v for k, v in response.getheaders()}


def shifted_acs_clock(delta):
    now = datetime.datetime.now(datetime.timezone.utc) + delta
    return Patch(
        (acs_utils.Utils, "get_timestamp", staticmethod(lambda: now.strftime("%Y-%m-%dT%H:%M:%SZ")))
    )


def shifted_sdk_clock(delta):
    class Shifted(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime.utcnow() + delta

    return Patch((huawei_signer, "datetime", Shifted))


def fixed_nonce(nonce):
    return Patch((acs_utils.Utils, "get_nonce", staticmethod(lambda: nonce)))


# ---------------------------------------------------------------------------------------------
# ACK


def ack_rows(response):
    body = response.body
    rows = body.tag_resources.tag_resource if body.tag_resources else []
    return sorted((r.resource_id, r.resource_type, r.tag_key, r.tag_value) for r in rows)


def cluster_rows(*rows):
    return sorted((i, "ALIYUN::CS::CLUSTER", k, v) for i, k, v in rows)


def ack_list(run, client, ids=None, tags=None, next_token=None):
    return run.ack(
        client.list_tag_resources,
        ack.ListTagResourcesRequest(
            region_id=REGION,
            resource_type="CLUSTER",
            resource_ids=ids,
            tags=[ack.Tag(key=k, value=v) for k, v in tags] if tags else None,
            next_token=next_token,
        ),
    )


def ack_tag(client, ids, tags):
    return client.tag_resources, ack.TagResourcesRequest(
        region_id=REGION,
        resource_type="CLUSTER",
        resource_ids=ids,
        tags=[ack.Tag(key=k, value=v) for k, v in tags],
    )


def ack_answered(run, response, what):
    run.equal(response.status_code, 200, what + ": status")
    run.check(bool(response.body.request_id), what + ": the SDK read RequestId")


def ack_scenarios(run, args):
    client = ack_client(args.endpoint, args.access_key_id, args.secret)
    special = ("标签 é", "a b~*/+&=%")

    def tags_and_lists():
        for ids, tags in [
            (["c-1", "c-2"], [("env", "dev"), ("team", "IT")]),
            (["c-3"], [("env", "prod"), special]),
            (["c-4"], [("env", "dev")]),
        ]:
            ack_answered(run, run.ack(*ack_tag(client, ids, tags)), "tag_resources %s" % ids)

        by_id = ack_list(run, client, ids=["c-1"])
        run.equal(ack_rows(by_id), cluster_rows(("c-1", "env", "dev"), ("c-1", "team", "IT")), "by ids")
        run.check(bool(by_id.body.request_id), "list: the SDK read request_id")
        run.check(not by_id.body.next_token, "list: one page, no next_token")
        one = ack_list(run, client, tags=[("env", "dev")])
        run.equal(
            ack_rows(one),
            cluster_rows(
                ("c-1", "env", "dev"),
                ("c-1", "team", "IT"),
                ("c-2", "env", "dev"),
                ("c-2", "team", "IT"),
                ("c-4", "env", "dev"),
            ),
            "1-tag filter",
        )
        two = ack_list(run, client, tags=[("env", "dev"), ("team", "IT")])
        run.equal(
            ack_rows(two),
            cluster_rows(
                ("c-1", "env", "dev"),
                ("c-1", "team", "IT"),
                ("c-2", "env", "dev"),
                ("c-2", "team", "IT"),
            ),
            "2-tag filter",
        )
    def reserved_characters():
        # A space in the query is `+` on the wire and `%20` in the canonical query.
        odd = ack_list(run, client, tags=[special])
        run.equal(
            ack_rows(odd),
            cluster_rows(("c-3", "env", "prod"), ("c-3",) + special),
            "non-ASCII, reserved characters and spaces in the filter",
        )

    def pages():
        ids = ["p-%02d" % i for i in range(30)]
        ack_answered(run, run.ack(*ack_tag(client, ids, [("page", "yes"), ("n", "x")])), "tag 30")
        seen, token, count = [], None, 0
        while True:
            page = ack_list(run, client, tags=[("page", "yes")], next_token=token)
            seen.extend(ack_rows(page))
            count += 1
            token = page.body.next_token
            if not token or count > 5:
                break
        run.equal(count, 2, "60 rows at the default page size of 50 are two pages")
        run.equal(len(seen), len(set(seen)), "no row twice across pages")
        expected = cluster_rows(*[(i, k, v) for i in ids for k, v in [("page", "yes"), ("n", "x")]])
        run.equal(sorted(seen), expected, "every row once across pages")

    def untags():
        keys = run.ack(
            client.untag_resources,
            ack.UntagResourcesRequest(
                region_id=REGION, resource_type="CLUSTER", resource_ids=["c-1"], tag_keys=["team"]
            ),
        )
        ack_answered(run, keys, "untag_resources tag_keys")
        run.equal(ack_rows(ack_list(run, client, ids=["c-1"])), cluster_rows(("c-1", "env", "dev")), "after untag")
        every = run.ack(
            client.untag_resources,
            ack.UntagResourcesRequest(
                region_id=REGION, resource_type="CLUSTER", resource_ids=["c-2"], all=True
            ),
        )
        ack_answered(run, every, "untag_resources all=True")
        run.equal(ack_rows(ack_list(run, client, ids=["c-2"])), [], "after untag all")
        run.equal(ack_rows(ack_list(run, client, ids=["c-3"]))[0][0], "c-3", "others keep theirs")

    run.case("ack: tag and list", tags_and_lists)
    run.case("ack: reserved characters in a filter", reserved_characters)
    run.case("ack: pages", pages)
    run.case("ack: untag", untags)
    ack_refusals(run, args, client)


def ack_refusals(run, args, client):
    listing = (client.list_tag_resources, ack.ListTagResourcesRequest(
        region_id=REGION, resource_type="CLUSTER", resource_ids=["c-1"]))

    def wrong_secret():
        bad = ack_client(args.endpoint, args.access_key_id, args.secret[:-1] + ("A" if args.secret[-1] != "A" else "B"))
        run.ack_refused("wrong secret", ACK_STATUS, "SignatureDoesNotMatch", *_with(bad, listing))

    def unknown_key():
        bad = ack_client(args.endpoint, "AKNOSUCHKEY000000000", args.secret)
        run.ack_refused("unknown key", ACK_STATUS, "InvalidAccessKeyId.NotFound", *_with(bad, listing))

    def replayed_nonce():
        with fixed_nonce("5eed" * 8):
            ack_answered(run, run.ack(*listing), "first use of a nonce")
            run.ack_refused("the same nonce again", ACK_STATUS, "SignatureNonceUsed", *listing)
        # The very same bytes, re-sent.
        request = ack_held(*listing)
        status, _, _ = send(run, request)
        run.equal(status, 200, "a held request, sent once")
        status, body, headers = send(run, request)
        run.equal((status, (body or {}).get("code")), (ACK_STATUS, "SignatureNonceUsed"), "replayed as is")
        run.check(body.get("request_id") == headers.get("x-request-id"), "request id in body and header")

    def altered():
        put = ack_held(*ack_tag(client, ["c-5"], [("env", "dev")]))
        changed = put.body.replace(b'"dev"', b'"prd"')
        run.check(changed != put.body, "the body was changed")
        status, body, _ = send(run, put.altered(body=changed))
        run.equal((status, (body or {}).get("code")), (ACK_STATUS, "SignatureDoesNotMatch"), "body changed after signing")
        get = ack_held(*listing)
        query = get.url.replace("c-1", "c-2")
        run.check(query != get.url, "the query was changed")
        status, body, _ = send(run, get.altered(url=query))
        run.equal((status, (body or {}).get("code")), (ACK_STATUS, "SignatureDoesNotMatch"), "query changed after signing")
        # Refused requests burn no nonce: the untouched original still goes through once.
        status, _, _ = send(run, put)
        run.equal(status, 200, "the original of the altered request")
        run.equal(
            ack_rows(ack_list(run, client, ids=["c-5"])),
            cluster_rows(("c-5", "env", "dev")),
            "only the original was applied",
        )

    def skewed():
        for delta in (-SKEW, SKEW):
            with shifted_acs_clock(delta):
                run.ack_refused("clock off by %s" % delta, ACK_STATUS, "RequestTimeTooSkewed", *listing)

    def read_only():
        if not args.read_only_key:
            return
        ro = ack_client(args.endpoint, *args.read_only_key)
        run.equal(len(ack_rows(run.ack(*_with(ro, listing)))), 1, "a read-only key reads")
        run.ack_refused("read-only key writing", 403, "Forbidden", *ack_tag(ro, ["c-1"], [("x", "y")]))

    def incomplete():
        request = ack_held(*listing)
        url = urllib.parse.urlsplit(request.url)
        # Signed by the SDK's own signer over every header but `host`, which is then sent unsigned.
        unsigned = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "authorization")}
        signing = type("DaraRequest", (), {})()
        signing.method, signing.pathname, signing.headers = request.method, url.path, unsigned
        signing.query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        unsigned["Authorization"] = acs_utils.Utils.get_authorization(
            signing, "ACS3-HMAC-SHA256", unsigned["x-acs-content-sha256"], args.access_key_id, args.secret
        )
        run.check("host;" not in unsigned["Authorization"], "host is not among the signed headers")
        status, body, _ = send(run, Request(request.method, request.url, unsigned, request.body))
        run.equal((status, (body or {}).get("code")), (ACK_STATUS, "IncompleteSignature"), "host not signed")
        malformed = dict(request.headers, Authorization="ACS3-HMAC-SHA256 Credential=" + args.access_key_id)
        status, body, _ = send(run, Request(request.method, request.url, malformed, request.body))
        run.equal((status, (body or {}).get("code")), (ACK_STATUS, "IncompleteSignature"), "malformed Authorization")

    run.case("ack: wrong secret", wrong_secret)
    run.case("ack: unknown key", unknown_key)
    run.case("ack: replayed nonce", replayed_nonce)
    run.case("ack: altered request", altered)
    run.case("ack: skewed clock", skewed)
    run.case("ack: read-only key", read_only)
    run.case("ack: incomplete signature", incomplete)


def _with(client, call):
    """The same call on another client."""
    method, request = call
    return getattr(client, method.__name__), request


# ---------------------------------------------------------------------------------------------
# SMN


def smn_tags(response):
    return [(t.key, t.value) for t in response.tags or []]


def smn_resource_tags(run, client, resource_id):
    return smn_tags(
        run.smn(client.list_resource_tags, smn.ListResourceTagsRequest(resource_type=TOPIC, resource_id=resource_id))
    )


def smn_batch(client, resource_id, action, tags):
    return client.batch_create_or_delete_resource_tags, smn.BatchCreateOrDeleteResourceTagsRequest(
        resource_type=TOPIC,
        resource_id=resource_id,
        body=smn.BatchCreateOrDeleteResourceTagsRequestBody(
            tags=[smn.ResourceTag(key=k, value=v) for k, v in tags], action=action
        ),
    )


def smn_create(client, resource_id, key, value):
    return client.create_resource_tag, smn.CreateResourceTagRequest(
        resource_type=TOPIC,
        resource_id=resource_id,
        body=smn.CreateResourceTagRequestBody(tag=smn.ResourceTag(key=key, value=value)),
    )


def smn_instances(run, client, action, tags=None, matches=None, offset=None, limit=None):
    return run.smn(
        client.list_resource_instances,
        smn.ListResourceInstancesRequest(
            resource_type=TOPIC,
            body=smn.ListInstanceRequestBody(
                tags=[smn.ResourceTags(key=k, values=v) for k, v in tags] if tags is not None else None,
                matches=[smn.TagMatch(key="resource_name", value=m) for m in matches] if matches else None,
                offset=offset,
                limit=limit,
                action=action,
            ),
        ),
    )


def smn_done(run, response, what):
    run.check(response.status_code in (200, 204), "%s: status %s" % (what, response.status_code))


def smn_scenarios(run, args):
    client = smn_client(args.endpoint, args.access_key_id, args.secret, args.project)
    odd_key = "cost center/é"
    odd_id = "t 4:é~*"

    def tags():
        smn_done(run, run.smn(*smn_create(client, "t-1", "env", "dev")), "create_resource_tag")
        for resource_id, pairs in [
            ("t-1", [("team", "IT"), (odd_key, "x")]),
            ("t-2", [("env", "prod")]),
            ("t-3", [("env", "dev"), ("team", "ops")]),
            (odd_id, [("env", "dev")]),
        ]:
            smn_done(run, run.smn(*smn_batch(client, resource_id, "create", pairs)), "batch create %s" % resource_id)
        run.equal(
            smn_resource_tags(run, client, "t-1"),
            [(odd_key, "x"), ("env", "dev"), ("team", "IT")],
            "list_resource_tags",
        )
        run.equal(smn_resource_tags(run, client, odd_id), [("env", "dev")], "an id with space, `:`, `~`, `*`, é")
        # The SDK puts the key in the path, `/` as %2F, and signs it as `/`: the server cannot
        # tell which was meant and refuses; the batch action carries the key in its body.
        run.smn_refused(
            "delete_resource_tag of a key with `/`", SMN_STATUS, "IncompleteSignature",
            client.delete_resource_tag, smn.DeleteResourceTagRequest(resource_type=TOPIC, resource_id="t-1", key=odd_key),
        )
        smn_done(run, run.smn(*smn_batch(client, "t-1", "delete", [(odd_key, "x")])), "batch delete of a key with `/`")
        smn_done(run, run.smn(*smn_batch(client, "t-1", "delete", [("team", "IT")])), "batch delete")
        run.equal(smn_resource_tags(run, client, "t-1"), [("env", "dev")], "after the deletes")
        project = run.smn(client.list_project_tags, smn.ListProjectTagsRequest(resource_type=TOPIC))
        run.equal(
            [(t.key, sorted(t.values)) for t in project.tags],
            [("env", ["dev", "prod"]), ("team", ["ops"])],
            "list_project_tags",
        )

    def instances():
        dev = [("env", ["dev"])]
        found = smn_instances(run, client, "filter", tags=dev)
        run.equal(sorted(r.resource_id for r in found.resources), sorted([odd_id, "t-1", "t-3"]), "filter by tag")
        run.equal(found.total_count, 3, "filter total_count")
        first = found.resources[[r.resource_id for r in found.resources].index("t-1")]
        run.equal(first.tags[0].key if first.tags else None, "env", "filter: a resource's tags")
        run.equal(first.resource_name, args.named.get("t-1", ""), "filter: resource_name")
        if args.named.get("t-1"):
            named = smn_instances(run, client, "filter", tags=dev, matches=[args.named["t-1"]])
            run.equal([r.resource_id for r in named.resources], ["t-1"], "filter by resource_name")
            counted = smn_instances(run, client, "count", matches=[args.named["t-1"]])
            run.equal(counted.total_count, 1, "count by resource_name")
        ordered = [r.resource_id for r in found.resources]
        page = smn_instances(run, client, "filter", tags=dev, offset="1", limit="1")
        run.equal(([r.resource_id for r in page.resources], page.total_count), (ordered[1:2], 3), "offset 1 limit 1")
        past = smn_instances(run, client, "filter", tags=dev, offset="3", limit="1")
        run.equal(([r.resource_id for r in past.resources], past.total_count), ([], 3), "offset past the end")
        counted = smn_instances(run, client, "count", tags=[("env", [])])
        run.equal(counted.total_count, 4, "count by key")
        run.check(not counted.resources, "count answers no resources")

    run.case("smn: tags", tags)
    run.case("smn: resource instances", instances)
    smn_refusals(run, args, client)


def smn_refusals(run, args, client):
    listing = (client.list_resource_tags, smn.ListResourceTagsRequest(resource_type=TOPIC, resource_id="t-1"))

    def wrong_secret():
        bad = smn_client(args.endpoint, args.access_key_id, args.secret[:-1] + ("A" if args.secret[-1] != "A" else "B"), args.project)
        run.smn_refused("wrong secret", SMN_STATUS, "SignatureDoesNotMatch", *_with(bad, listing))

    def unknown_key():
        bad = smn_client(args.endpoint, "AKNOSUCHKEY000000000", args.secret, args.project)
        run.smn_refused("unknown key", SMN_STATUS, "InvalidAccessKeyId.NotFound", *_with(bad, listing))

    def altered():
        held = smn_held(*smn_batch(client, "t-5", "create", [("env", "dev")]))
        changed = held.body.replace(b'"dev"', b'"prd"')
        run.check(changed != held.body, "the body was changed")
        status, body, headers = send(run, held.altered(body=changed))
        run.equal((status, (body or {}).get("code")), (SMN_STATUS, "SignatureDoesNotMatch"), "body changed after signing")
        run.check(bool(headers.get("x-request-id")), "X-Request-Id on a refusal")
        status, body, _ = send(run, held.altered(url=held.url.replace("/t-5/", "/t-6/")))
        run.equal((status, (body or {}).get("code")), (SMN_STATUS, "SignatureDoesNotMatch"), "path changed after signing")
        # Signed for /v2/P/smn_topic/…, sent to /v2/P%2Fsmn_topic/…: the same signed text, another route.
        listed = smn_held(*listing)
        moved = listed.url.replace("/%s/smn_topic/" % args.project, "/%s%%2Fsmn_topic/" % args.project)
        run.check(moved != listed.url, "the path was moved")
        status, body, _ = send(run, listed.altered(url=moved))
        run.equal((status, (body or {}).get("code")), (SMN_STATUS, "IncompleteSignature"), "a separator encoded after signing")
        status, _, _ = send(run, held)
        run.check(status in (200, 204), "the original of the altered request: %s" % status)
        run.equal(smn_resource_tags(run, client, "t-5"), [("env", "dev")], "only the original was applied")
        run.smn_refused(
            "the refused path changed nothing", 404, "SMN.00010404",
            client.list_resource_tags, smn.ListResourceTagsRequest(resource_type=TOPIC, resource_id="t-6"),
        )

    def skewed():
        for delta in (-SKEW, SKEW):
            with shifted_sdk_clock(delta):
                run.smn_refused("clock off by %s" % delta, SMN_STATUS, "RequestTimeTooSkewed", *listing)

    def read_only():
        if not args.read_only_key:
            return
        ro = smn_client(args.endpoint, *args.read_only_key, args.project)
        run.equal(smn_resource_tags(run, ro, "t-1"), [("env", "dev")], "a read-only key reads")
        run.smn_refused("read-only key writing", 403, "SMN.00010403", *smn_create(ro, "t-1", "x", "y"))

    def other_project():
        other = smn_client(args.endpoint, args.access_key_id, args.secret, args.project + "-other")
        run.smn_refused("another project's path", 403, "SMN.00010403", *_with(other, listing))
        run.smn_refused("another project's path, writing", 403, "SMN.00010403", *smn_create(other, "t-1", "x", "y"))

    def malformed():
        held = smn_held(*listing)
        headers = dict(held.headers, Authorization="SDK-HMAC-SHA256 Access=" + args.access_key_id)
        status, body, _ = send(run, Request(held.method, held.url, headers, held.body))
        run.equal((status, (body or {}).get("code")), (SMN_STATUS, "IncompleteSignature"), "malformed Authorization")

    run.case("smn: wrong secret", wrong_secret)
    run.case("smn: unknown key", unknown_key)
    run.case("smn: altered request", altered)
    run.case("smn: skewed clock", skewed)
    run.case("smn: read-only key", read_only)
    run.case("smn: another project", other_project)
    run.case("smn: incomplete signature", malformed)


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("endpoint")
    parser.add_argument("access_key_id")
    parser.add_argument("secret")
    parser.add_argument("project")
    parser.add_argument("--read-only-key", nargs=2, metavar=("ID", "SECRET"))
    parser.add_argument("--named", action="append", default=[], metavar="RESOURCE_ID=NAME")
    args = parser.parse_args()
    args.named = dict(n.split("=", 1) for n in args.named)

    run = Run()
    ack_scenarios(run, args)
    smn_scenarios(run, args)
    print(json.dumps({"calls": run.calls, "assertions": run.assertions, "failures": run.failures}, ensure_ascii=False))
    sys.exit(1 if run.failures else 0)


if __name__ == "__main__":
    main()
