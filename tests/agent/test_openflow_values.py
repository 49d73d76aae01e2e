"""Cookies and register marks: the bit layouts the pipeline and restarts rely on."""

from __future__ import annotations

import pytest

from agent.openflow import registers as R
from agent.openflow.cookies import (
    MAX_ROUND,
    Category,
    Cookies,
    category_of,
    next_round,
    object_id_of,
    round_of,
)


def test_cookie_layout():
    cookie = Cookies(0xF70E)(Category.NODE, 0x1234)
    assert cookie == 0xF70E_02_00_00001234
    assert (round_of(cookie), category_of(cookie), object_id_of(cookie)) == (0xF70E, Category.NODE, 0x1234)


def test_cookie_bounds():
    with pytest.raises(ValueError, match="round"):
        Cookies(MAX_ROUND + 1)
    with pytest.raises(ValueError, match="object id"):
        Cookies(1)(Category.POD, 1 << 32)


def test_next_round_wraps_and_skips_zero():
    assert next_round(None) == 1
    assert next_round(41) == 42
    assert next_round(MAX_ROUND) == 1


def test_register_marks_merge_per_register():
    assert R.reg_match(R.FROM_GATEWAY, R.OUTPUT_PORT_FOUND) == {"reg0": (0x10002, 0x1000F)}
    with pytest.raises(ValueError, match="overlap"):
        R.reg_match(R.FROM_GATEWAY, R.FROM_POD)
    assert str(R.REWRITE_MAC.load()) == "set_field:0x20000/0x20000->reg0"
    with pytest.raises(ValueError, match="does not fit"):
        R.PKT_SOURCE.match(16)


def test_rule_ids_take_the_two_low_words_of_the_ct_label():
    ingress, egress = R.INGRESS_RULE_CT_LABEL, R.EGRESS_RULE_CT_LABEL
    assert str(ingress.save(R.INGRESS_CONJ_ID)) == "move:NXM_NX_REG6[]->NXM_NX_CT_LABEL[0..31]"
    assert str(egress.save(R.EGRESS_CONJ_ID)) == "move:NXM_NX_REG5[]->NXM_NX_CT_LABEL[32..63]"
    assert R.INGRESS_RULE_CT_LABEL.match(7) == {"ct_label": (7, 0xFFFFFFFF)}
    assert R.EGRESS_RULE_CT_LABEL.match(7) == {"ct_label": (7 << 32, 0xFFFFFFFF << 32)}
    with pytest.raises(ValueError, match="does not fit"):
        R.EGRESS_RULE_CT_LABEL.match(1 << 32)
    with pytest.raises(ValueError, match="does not fit"):
        R.CtLabelField(0, 15).save(R.INGRESS_CONJ_ID)
    with pytest.raises(ValueError, match="128-bit"):
        R.CtLabelField(120, 128)
