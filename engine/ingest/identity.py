"""Which profile each message belongs to: anonymous ids, user ids and aliases (no I/O).

The resolver works on a snapshot of the identities a batch mentions and produces a plan:
profiles to create, anonymous profiles that become identified, profiles to merge and
identities to add. Profiles created inside the batch carry negative temporary ids until the
repository inserts them. Rules:

- a message with a userId belongs to that user's profile; if its anonymousId belongs to a
  still-anonymous profile, that profile is merged into the user's (anonymous activity is
  kept and attached), or simply becomes the user's profile if the user is new;
- an anonymousId already claimed by another *identified* user is left with that user
  (shared devices must not merge two people);
- `alias(previousId, userId)` is explicit: the profile of previousId (user or anonymous id)
  is merged into userId's profile whoever it belonged to -- when the sender may merge
  identified users (a server write key). From a public (browser) key, whose holder can be
  anyone, an alias only claims an anonymous profile or an unknown id as an anonymous id:
  an identified previousId is left as it is, so nobody can move another user's profile
  under an id whose in-app hash they hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.ingest.schemas import Alias, AnyMessage

Key = tuple[str, str]  # ("user" | "anonymous", value)


@dataclass
class IdentityPlan:
    new_profiles: dict[int, str | None] = field(default_factory=dict)  # temp id -> user id
    set_user_id: dict[int, str] = field(default_factory=dict)  # existing id -> new user id
    merges: list[tuple[int, int]] = field(default_factory=list)  # (absorbed, survivor)
    new_identities: dict[Key, int] = field(default_factory=dict)
    refused_aliases: int = 0  # from a public key, naming another identified user's profile


class IdentityResolver:
    """Assigns messages to profile references, accumulating an `IdentityPlan`."""

    def __init__(
        self,
        known: dict[Key, int],
        user_of: dict[int, str | None],
        *,
        identified_merges: bool = True,
    ) -> None:
        self._identified_merges = identified_merges
        self._known = dict(known)
        self._user_of = dict(user_of)
        self._original_user_of = dict(user_of)
        self._forward: dict[int, int] = {}
        self._next_temp = -1
        self.plan = IdentityPlan()

    def find(self, ref: int) -> int:
        while ref in self._forward:
            ref = self._forward[ref]
        return ref

    def resolve(self, message: AnyMessage) -> int:
        if isinstance(message, Alias):
            return self._resolve_alias(message)
        if message.user_id is None:
            assert message.anonymous_id is not None
            return self._lookup(("anonymous", message.anonymous_id)) or self._create(
                None, ("anonymous", message.anonymous_id)
            )
        user_ref = self._lookup(("user", message.user_id))
        anon_ref = (
            self._lookup(("anonymous", message.anonymous_id)) if message.anonymous_id else None
        )
        if anon_ref is not None and self._user_of[anon_ref] is None:
            if user_ref is None:
                self._identify(anon_ref, message.user_id)
                return anon_ref
            if anon_ref != user_ref:
                self._merge(anon_ref, user_ref)
        if user_ref is None:
            user_ref = self._create(message.user_id, ("user", message.user_id))
        if message.anonymous_id and anon_ref is None:
            self._link(("anonymous", message.anonymous_id), user_ref)
        return self.find(user_ref)

    def _resolve_alias(self, message: Alias) -> int:
        target = self._lookup(("user", message.user_id))
        previous = self._lookup(("user", message.previous_id)) or self._lookup(
            ("anonymous", message.previous_id)
        )
        if previous is not None and previous != target and not self._may_absorb(previous):
            # Another identified user's profile: out of a public key's reach.
            self.plan.refused_aliases += 1
            if target is None:
                return self._create(message.user_id, ("user", message.user_id))
            return self.find(target)
        if target is None and previous is not None:
            self._identify(previous, message.user_id)
            return previous
        if target is None:
            target = self._create(message.user_id, ("user", message.user_id))
        if previous is None:
            # Unknown previous id: it may come back as either kind of id (as a user id only
            # from a server key: else a browser could claim a user id not yet seen).
            if self._identified_merges:
                self._link(("user", message.previous_id), target)
            self._link(("anonymous", message.previous_id), target)
        elif previous != target:
            self._merge(previous, target)
        return self.find(target)

    def _may_absorb(self, profile: int) -> bool:
        """Whether an alias may merge or rename this profile: any from a server key, only an
        anonymous one from a public key."""
        return self._identified_merges or self._user_of[profile] is None

    def _lookup(self, key: Key) -> int | None:
        ref = self._known.get(key)
        return None if ref is None else self.find(ref)

    def _create(self, user_id: str | None, key: Key) -> int:
        ref = self._next_temp
        self._next_temp -= 1
        self._user_of[ref] = user_id
        self.plan.new_profiles[ref] = user_id
        self._link(key, ref)
        return ref

    def _link(self, key: Key, ref: int) -> None:
        self._known[key] = ref
        self.plan.new_identities[key] = ref

    def _identify(self, ref: int, user_id: str) -> None:
        """Give a profile its (new canonical) user id."""
        self._user_of[ref] = user_id
        if ("user", user_id) not in self._known:
            self._link(("user", user_id), ref)
        if ref < 0:
            self.plan.new_profiles[ref] = user_id
        elif self._original_user_of.get(ref) != user_id:
            self.plan.set_user_id[ref] = user_id

    def _merge(self, absorbed: int, into: int) -> None:
        """Fold `absorbed` into `into`; the survivor is whichever already exists in the store."""
        user_id = self._user_of[into] or self._user_of[absorbed]
        survivor, gone = (absorbed, into) if into < 0 <= absorbed else (into, absorbed)
        self._forward[gone] = survivor
        if gone < 0:
            del self.plan.new_profiles[gone]
        else:
            self.plan.merges.append((gone, survivor))
        if user_id is not None and self._user_of[survivor] != user_id:
            self._identify(survivor, user_id)

    def finish(self) -> IdentityPlan:
        """The plan with every reference forwarded to its surviving profile."""
        self.plan.new_identities = {k: self.find(r) for k, r in self.plan.new_identities.items()}
        self.plan.merges = [(gone, self.find(s)) for gone, s in self.plan.merges]
        return self.plan
