"""Identity resolution plans, with plain values."""

from typing import Any

from engine.ingest.identity import IdentityResolver
from engine.ingest.schemas import MESSAGE_ADAPTER, AnyMessage


def msg(**fields: Any) -> AnyMessage:
    data = {"type": "track", "event": "e", "messageId": "m", **fields}
    return MESSAGE_ADAPTER.validate_python(data)


def test_new_user_and_anonymous_id_make_one_profile() -> None:
    resolver = IdentityResolver({}, {})
    ref = resolver.resolve(msg(userId="u", anonymousId="a"))
    plan = resolver.finish()
    assert plan.new_profiles == {ref: "u"}
    assert plan.new_identities == {("user", "u"): ref, ("anonymous", "a"): ref}


def test_anonymous_profile_becomes_the_user_profile() -> None:
    resolver = IdentityResolver({("anonymous", "a"): 7}, {7: None})
    assert resolver.resolve(msg(userId="u", anonymousId="a")) == 7
    plan = resolver.finish()
    assert plan.new_profiles == {}
    assert plan.set_user_id == {7: "u"}
    assert plan.new_identities == {("user", "u"): 7}


def test_anonymous_profile_merges_into_known_user() -> None:
    resolver = IdentityResolver({("anonymous", "a"): 7, ("user", "u"): 3}, {7: None, 3: "u"})
    assert resolver.resolve(msg(userId="u", anonymousId="a")) == 3
    assert resolver.finish().merges == [(7, 3)]


def test_profile_created_in_the_batch_folds_into_the_stored_one() -> None:
    resolver = IdentityResolver({("anonymous", "a"): 7}, {7: None})
    first = resolver.resolve(msg(userId="u"))  # new profile for u
    second = resolver.resolve(msg(userId="u", anonymousId="a"))
    plan = resolver.finish()
    assert second == 7
    assert resolver.find(first) == 7
    assert plan.new_profiles == {}
    assert plan.set_user_id == {7: "u"}
    assert plan.new_identities == {("user", "u"): 7}


def test_anonymous_id_of_another_identified_user_is_not_merged() -> None:
    resolver = IdentityResolver({("anonymous", "a"): 7}, {7: "someone"})
    ref = resolver.resolve(msg(userId="u", anonymousId="a"))
    plan = resolver.finish()
    assert ref < 0
    assert plan.merges == []
    assert plan.new_identities == {("user", "u"): ref}


def test_alias_of_unknown_previous_id_registers_it() -> None:
    resolver = IdentityResolver({("user", "u"): 3}, {3: "u"})
    alias = MESSAGE_ADAPTER.validate_python(
        {"type": "alias", "userId": "u", "previousId": "p", "messageId": "m"}
    )
    assert resolver.resolve(alias) == 3
    assert resolver.finish().new_identities == {("user", "p"): 3, ("anonymous", "p"): 3}


def alias(previous: str, user: str) -> AnyMessage:
    return MESSAGE_ADAPTER.validate_python(
        {"type": "alias", "userId": user, "previousId": previous, "messageId": "m"}
    )


def test_public_key_alias_leaves_an_identified_previous_profile_alone() -> None:
    known = {("user", "a"): 1, ("user", "b"): 2, ("anonymous", "x"): 1}
    for previous in ("a", "x"):
        resolver = IdentityResolver(known, {1: "a", 2: "b"}, identified_merges=False)
        assert resolver.resolve(alias(previous, "b")) == 2
        plan = resolver.finish()
        assert (plan.merges, plan.set_user_id, plan.new_identities) == ([], {}, {})
        assert plan.refused_aliases == 1


def test_public_key_alias_does_not_rename_an_identified_user() -> None:
    resolver = IdentityResolver({("user", "a"): 1}, {1: "a"}, identified_merges=False)
    ref = resolver.resolve(alias("a", "new"))
    plan = resolver.finish()
    assert ref < 0
    assert plan.new_profiles == {ref: "new"}
    assert plan.set_user_id == {}
    assert plan.new_identities == {("user", "new"): ref}


def test_public_key_alias_merges_an_anonymous_profile_and_registers_unknown_ids_as_anonymous() -> (
    None
):
    known = {("user", "u"): 3, ("anonymous", "a"): 7}
    resolver = IdentityResolver(known, {3: "u", 7: None}, identified_merges=False)
    assert resolver.resolve(alias("a", "u")) == 3
    assert resolver.resolve(alias("p", "u")) == 3
    plan = resolver.finish()
    assert plan.merges == [(7, 3)]
    assert plan.new_identities == {("anonymous", "p"): 3}


def test_server_key_alias_merges_identified_users() -> None:
    resolver = IdentityResolver({("user", "a"): 1, ("user", "b"): 2}, {1: "a", 2: "b"})
    assert resolver.resolve(alias("a", "b")) == 2
    assert resolver.finish().merges == [(1, 2)]
