#!/usr/bin/python3
"""A reel.v1 client in Python, built from the protos alone.

The message classes come from `protoc --python_out` over protos/ (run.sh generates them into a
temporary folder on PYTHONPATH); the calls go through grpcio's generic `unary_unary` with the
method's path, so no generated stubs (grpcio-tools) are needed. Errors carry a google.rpc.Status
in the `grpc-status-details-bin` trailer: ErrorInfo (domain reel.v1, a stable reason) and, for
INVALID_ARGUMENT, BadRequest naming each field.

Calls Recommend, SimilarTitles, RecordInteractions, and a Recommend without a user_id (refused),
and prints what it got as one JSON object.
"""
import argparse
import json
import sys
import uuid

import grpc
from google.rpc import error_details_pb2, status_pb2
from reel.v1 import common_pb2, recommendation_service_pb2 as rs

SERVICE = "reel.v1.RecommendationService"


def method(channel, name, request_type, response_type):
    """A callable for SERVICE/name: requests serialised by protobuf, answers parsed by it."""
    return channel.unary_unary(
        f"/{SERVICE}/{name}",
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )


def status_of(err):
    """The google.rpc.Status an error carries in its trailer, unpacked: ErrorInfo and BadRequest."""
    raw = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin")
    out = {"code": err.code().name, "message": err.details()}
    if raw is None:
        return out
    status = status_pb2.Status.FromString(raw)
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            out["error_info"] = {"domain": info.domain, "reason": info.reason}
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out["field_violations"] = [{"field": v.field, "description": v.description} for v in bad.field_violations]
    return out


def titles(response):
    return [t.title_id for t in response.titles]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("address", help="host:port of a reel gateway")
    p.add_argument("--user", default="1", help="user to recommend for")
    p.add_argument("--title", default="1", help="title to find similar titles of")
    p.add_argument("--timeout", type=float, default=10.0, help="deadline of each call, in seconds")
    a = p.parse_args()

    with grpc.insecure_channel(a.address) as channel:
        grpc.channel_ready_future(channel).result(timeout=a.timeout)
        recommend = method(channel, "Recommend", rs.RecommendRequest, rs.RecommendResponse)
        similar = method(channel, "SimilarTitles", rs.SimilarTitlesRequest, rs.SimilarTitlesResponse)
        record = method(channel, "RecordInteractions", rs.RecordInteractionsRequest, rs.RecordInteractionsResponse)
        out = {}

        r = recommend(rs.RecommendRequest(user_id=a.user, page_size=5, include_title_details=True), timeout=a.timeout)
        out["recommend"] = {
            "model_version": r.model_version,
            "fallback": r.fallback,
            "titles": titles(r),
            "display_names": [t.title.display_name for t in r.titles],
        }

        s = similar(rs.SimilarTitlesRequest(title_id=a.title, page_size=5), timeout=a.timeout)
        out["similar"] = {"model_version": s.model_version, "titles": titles(s)}

        # A thumbs-down on the first title recommended; the same event sent twice counts once.
        event = common_pb2.Interaction(
            event_id=f"py-{uuid.uuid4()}",
            user_id=a.user,
            title_id=r.titles[0].title_id,
            type=common_pb2.INTERACTION_TYPE_THUMBS_DOWN,
        )
        rec = record(rs.RecordInteractionsRequest(interactions=[event, event]), timeout=a.timeout)
        out["record"] = {"recorded_count": rec.recorded_count, "duplicate_count": rec.duplicate_count}

        try:
            recommend(rs.RecommendRequest(user_id="", page_size=5), timeout=a.timeout)
            out["bad_request"] = {"code": "OK"}
        except grpc.RpcError as err:
            out["bad_request"] = status_of(err)

    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
