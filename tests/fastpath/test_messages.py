"""OpenFlow message framing: what the encoder writes decodes back to the same flow."""

import struct

import pytest
from hypothesis import given

from fastpath import Flow, Match
from fastpath import _messages as msg
from fastpath import actions as A
from fastpath.decode import decode_header, decode_instructions, decode_ofp_match
from tests.fastpath.strategies import flows


def decode_flow_mod(data: bytes) -> Flow:
    cookie = struct.unpack_from("!Q", data, 8)[0]
    table, priority = data[24], struct.unpack_from("!H", data, 30)[0]
    match, offset = decode_ofp_match(data, 48)
    return Flow(table, priority, match, decode_instructions(data[offset:]), cookie)


@given(flows())
def test_flow_mod_round_trip(flow):
    data = msg.encode_flow_mod(flow, msg.ADD, 7)
    header = decode_header(data)
    assert (header.version, header.type, header.length, header.xid) == (6, 14, len(data), 7)
    assert len(data) % 8 == 0
    assert decode_flow_mod(data) == flow


def test_bundle_adds_frame_each_flow_with_its_own_xid():
    batch = [Flow(90, 200, Match(nw_src=i), [A.Conjunction(1, 1, 2)]) for i in range(1, 4)]
    data = msg.encode_bundle_adds(batch, msg.ADD, bundle_id=9, first_xid=100)
    offset, seen = 0, []
    while offset < len(data):
        outer = decode_header(data[offset:])
        inner = decode_header(data[offset + 16 :])
        assert outer.type == 34 and outer.xid == inner.xid  # the spec requires equal xids
        assert struct.unpack_from("!I", data, offset + 8)[0] == 9
        seen.append(decode_flow_mod(data[offset + 16 : offset + outer.length]))
        offset += outer.length
    assert seen == batch
    assert [decode_header(msg.encode_flow_mod(f, msg.ADD, 0)).length + 16 for f in batch] == [
        len(data) // 3
    ] * 3


def test_oversized_flow_is_refused_before_sending():
    huge = Flow(0, 1, Match(), [A.Conjunction(i, 1, 2) for i in range(5000)])
    with pytest.raises(msg.EncodeError, match="over OpenFlow's 65535"):
        msg.encode_flow_mod(huge, msg.ADD, 1)
    with pytest.raises(msg.EncodeError):
        msg.encode_bundle_adds([huge], msg.ADD, 1, 1)
