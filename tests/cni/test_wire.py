"""The plugin's hand-written wire format agrees with the code generated from cni.proto, both ways."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cni.wire import METHODS, CmdArgs, WireError, decode_response, encode_request
from proto.cni.v1beta1 import cni_pb2

# what the plugin can send: its environment holds no lone surrogates
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(st.builds(CmdArgs, text, text, text, text, text, st.binary(max_size=100)))
def test_requests_are_encoded_as_the_generated_code_encodes_them(args):
    generated = cni_pb2.CniCmdRequest(
        cni_args=cni_pb2.CniCmdArgs(
            container_id=args.container_id,
            netns=args.netns,
            ifname=args.ifname,
            args=args.args,
            path=args.path,
            network_configuration=args.network_configuration,
        )
    )
    assert encode_request(args) == generated.SerializeToString()


@given(
    result=st.binary(max_size=100),
    error=st.none() | st.tuples(st.sampled_from(list(cni_pb2.ErrorCode.values())), text, text),
)
def test_responses_are_decoded_as_the_generated_code_wrote_them(result, error):
    message = cni_pb2.CniCmdResponse(cni_result=result)
    if error is not None:
        message.error.CopyFrom(cni_pb2.Error(code=error[0], message=error[1], details=error[2]))
    decoded = decode_response(message.SerializeToString())
    assert decoded.cni_result == result
    if error is None:
        assert decoded.error is None
    else:
        assert (decoded.error.code, decoded.error.message, decoded.error.details) == error


def test_unknown_fields_and_negative_enums_are_read_as_protobuf_reads_them():
    error = cni_pb2.Error(code=-5, message="m")
    data = cni_pb2.CniCmdResponse(error=error).SerializeToString() + b"\x18\x07" + b"\x25\x01\x02\x03\x04"
    decoded = decode_response(data)
    assert decoded.error.code == -5 and decoded.error.message == "m"


@pytest.mark.parametrize(
    "data", [b"\x0a\x05abc", b"\x12\x02\x08", b"\x0b", b"\x80", b"\x00\x00", b"\x12\x02\x12\xff"]
)
def test_malformed_responses_are_wire_errors(data):
    with pytest.raises(WireError):
        decode_response(data)


@given(st.binary(max_size=50))
def test_any_bytes_decode_or_fail_cleanly(data):
    try:
        decode_response(data)
    except WireError:
        pass


def test_method_paths_are_the_services():
    service = cni_pb2.DESCRIPTOR.services_by_name["Cni"]
    assert set(METHODS.values()) == {f"/{service.full_name}/{method.name}" for method in service.methods}
