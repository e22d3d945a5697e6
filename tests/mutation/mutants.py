"""The committed mutants of Holdfast's core conditions and steps (``make mutants``).

Each mutant deletes or weakens one thing the promise rests on — a ConditionExpression of a
ledger write, a release, timer or shard step — and names the few tests that must fail
without it. ``tests/mutation/run.py`` applies them one at a time to a copy of the
repository. An ``original`` snippet must occur exactly once in its file; when the code moves
on, the run reports the mutant as stale and fails, so this list stays in step with the code.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTERS = "layers/holdfast/holdfast/storage/counters.py"
TRANSACTIONS = "layers/holdfast/holdfast/storage/transactions.py"
FEED_COMMITS = "layers/holdfast/holdfast/storage/feed.py"
FEED_SERVICE = "layers/holdfast/holdfast/services/feed.py"
STORAGE_PLANS = "layers/holdfast/holdfast/storage/plans.py"
PLACEMENT = "layers/holdfast/holdfast/domain/placement.py"
HOLD_PLANS = "layers/holdfast/holdfast/domain/holds.py"
HOLDS = "layers/holdfast/holdfast/services/holds.py"
ORDERS = "layers/holdfast/holdfast/services/orders.py"
ORDER_PLANS = "layers/holdfast/holdfast/domain/orders.py"
SHARDS = "layers/holdfast/holdfast/domain/shards.py"

CONDITIONS = "tests/integration/test_write_conditions.py"
GAPS = "tests/dynamodb_local/test_forced_interleavings.py"
EXPIRY = "tests/integration/test_hold_expiry.py"
FEED = "tests/integration/test_inventory_feed.py"
ORDER_TESTS = "tests/integration/test_orders.py"
SHARDED = "tests/integration/test_sharded_counters.py"
FAULTS = "tests/dynamodb_local/test_faults_on_engine.py"
EVENTS = "tests/integration/test_events.py"
INTERLEAVED = "tests/dynamodb_local/test_interleaved_writes.py"
EXPLORER = "tests/dynamodb_local/test_interleavings.py"


@dataclass(frozen=True)
class Edit:
    file: str
    original: str
    replacement: str


@dataclass(frozen=True)
class Mutant:
    id: str
    why: str
    tests: tuple[str, ...]
    """pytest arguments (node ids): kept small, each mutant runs in well under a minute."""
    edits: tuple[Edit, ...]


def mutant(
    id: str,
    file: str,
    original: str,
    replacement: str,
    why: str,
    *tests: str,
    also: tuple[Edit, ...] = (),
) -> Mutant:
    return Mutant(id, why, tests, (Edit(file, original, replacement), *also))


MUTANTS: list[Mutant] = [
    # -- ConditionExpressions of ledger writes (storage/) ----------------------------------
    mutant(
        "iq-create-if-absent",
        TRANSACTIONS,
        'put["ConditionExpression"] = "attribute_not_exists(pk)"',
        "pass",
        "a redelivered feed event (same sourceRef) is counted twice",
        f"{FEED}::test_delta_replayed_with_the_same_source_ref_is_unchanged",
    ),
    mutant(
        "document-create-if-absent",
        TRANSACTIONS,
        '                        "ConditionExpression": "attribute_not_exists(pk)",\n'
        '                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",\n',
        "",
        "a retried hold holds the stock a second time",
        "tests/integration/test_fulfilment_options.py::test_the_same_ref_and_body_again_answers_the_same_and_holds_nothing_more",
    ),
    mutant(
        "deactivate-if-active",
        TRANSACTIONS,
        '        "UpdateExpression": "SET #status = :inactive",\n        "ConditionExpression": "#status = :active",\n',
        '        "UpdateExpression": "SET #status = :inactive",\n        "ConditionExpression": "attribute_exists(pk) OR #status = :active",\n',
        "a hold IQ released twice gives its units back twice",
        f"{CONDITIONS}::test_a_release_planned_from_a_stale_read_of_the_cart_is_refused_by_the_hold_iq",
    ),
    mutant(
        "hold-onhand-at-least-min",
        COUNTERS,
        '        if change.min_on_hand is not None:\n            conditions.append("onHand >= :min")',
        '        if False:\n            conditions.append("onHand >= :min")',
        "a hold planned from a read another hold emptied is granted: oversell",
        f"{GAPS}::test_two_holds_for_the_last_unit_at_the_gap_grant_it_once",
    ),
    mutant(
        "shard-hold-at-least-min",
        COUNTERS,
        "return self._change_shard(change, change.delta, change.min_on_hand, exact=False)",
        "return self._change_shard(change, change.delta, None, exact=False)",
        "a hold takes a shard below zero when a rival drained it after the read",
        f"{GAPS}::test_two_holds_for_the_one_shard_that_covers_them_at_the_gap_never_take_it_below_zero",
    ),
    mutant(
        "uncovered-decrease-refused-when-sharded",
        COUNTERS,
        "        elif change.delta < 0 and change.min_on_hand is None:",
        "        elif False:",
        "a feed sale without a cover takes shard 0 negative beside positive shards",
        f"{SHARDED}::test_a_store_sale_larger_than_shard_0_pulls_units_back_from_the_shards",
    ),
    mutant(
        "cover-shard-count",
        COUNTERS,
        '            conditions.append("counterShards = :shards")\n            values[":shards"] = {"N": str(cover.shard_count)}\n',
        "",
        "a cover planned for N shards lands after a reshard: units left in shards beside a negative shard 0",
        f"{GAPS}::test_a_sale_beyond_the_whole_position_reads_again_when_the_position_is_resharded_at_its_gap",
        "tests/dynamodb_local/test_interleaved_writes.py::test_a_count_that_empties_the_shards_reads_again_if_new_shards_were_added_and_filled",
    ),
    mutant(
        "cover-floor",
        COUNTERS,
        '            if cover.floor is not None:\n                conditions.append("onHand >= :floor")',
        '            if False:\n                conditions.append("onHand >= :floor")',
        "a sale covered by shard 0 as read lands after a hold drained shard 0",
        f"{GAPS}::test_a_till_sale_covered_by_shard_0_alone_reads_again_when_a_hold_drains_it_at_the_gap",
    ),
    mutant(
        "cover-pull-at-least-read",
        COUNTERS,
        "                    change, -move.units, move.units, exact=move.exact, shard=move.source\n",
        "                    change, -move.units, None, exact=move.exact, shard=move.source\n",
        "the sharded till sale vs hold race: the cover pulls from a shard a hold drained",
        f"{GAPS}::test_a_till_sale_whose_cover_pulls_from_a_shard_a_hold_drains_at_the_gap_reads_again",
    ),
    mutant(
        "feed-after-snapshot",
        COUNTERS,
        '        "(attribute_not_exists(snapshotAsOf) OR snapshotAsOf < :happened)",\n',
        "",
        "an event the snapshot already counts is counted again",
        f"{FEED}::test_event_at_or_before_the_current_snapshot_is_stale",
    ),
    mutant(
        "feed-under-fence",
        COUNTERS,
        '        "(attribute_not_exists(fenceAsOf) OR fenceAsOf < :happened)",\n',
        "",
        "an event a count in progress includes lands beside it: drift",
        f"{FAULTS}::test_a_snapshot_that_dies_after_its_fence_is_applied_once_by_its_retry",
    ),
    mutant(
        "snapshot-commit-under-its-fence",
        COUNTERS,
        '            values[":fence"] = {"S": fence_id}\n            conditions.append("fenceId = :fence")',
        "            pass",
        "an older count commits over a newer one that landed meanwhile, or a count whose lapsed fence was taken down",
        f"{GAPS}::test_an_older_count_paused_at_its_commit_while_a_newer_count_lands_ends_stale",
        "tests/dynamodb_local/test_interleaved_writes.py::test_a_snapshot_whose_fence_lapsed_starts_again_when_an_event_it_never_read_lands",
    ),
    mutant(
        "fence-after-snapshot",
        FEED_COMMITS,
        '"(attribute_not_exists(snapshotAsOf) OR snapshotAsOf < :asOf) AND "',
        '""',
        "an older (or the same) count is applied over the current one",
        f"{FEED}::test_stale_snapshot_is_refused_and_changes_nothing",
        f"{FEED}::test_replayed_snapshot_is_unchanged",
    ),
    mutant(
        "document-status-in",
        TRANSACTIONS,
        "        allowed = []\n        for index, from_status in enumerate(from_statuses):\n"
        '            values[f":from{index}"] = {"S": from_status}\n            allowed.append(f":from{index}")\n'
        "        condition = f\"#status IN ({', '.join(allowed)})\"",
        '        condition = "attribute_exists(pk)"',
        "a cancelled (converted, expired) cart or order moves again",
        f"{CONDITIONS}::test_a_cart_moves_only_from_the_statuses_the_write_names",
    ),
    mutant(
        "convert-only-unexpired",
        TRANSACTIONS,
        '            condition += " AND expiresAt > :unexpired"\n            values[":unexpired"] = {"S": to_iso(unexpired_at)}',
        "            pass",
        "a hold is honoured after its expiresAt",
        f"{CONDITIONS}::test_a_cart_converts_only_while_its_expiry_is_still_ahead_at_the_write",
    ),
    mutant(
        "expire-only-expired",
        TRANSACTIONS,
        '            condition += " AND expiresAt <= :expired"\n            values[":expired"] = {"S": to_iso(expired_at)}',
        "            pass",
        "a hold is released as expired before its expiresAt",
        f"{CONDITIONS}::test_a_cart_is_released_as_expired_only_once_its_expiry_has_passed_at_the_write",
    ),
    # -- shard steps ------------------------------------------------------------------------
    mutant(
        "rebalance-shard0-keeps-units",
        COUNTERS,
        '"ConditionExpression": "onHand >= :units AND counterShards > :highest",',
        '"ConditionExpression": "counterShards > :highest",',
        "a rebalance planned before the hold took shard 0's units takes shard 0 negative",
        f"{CONDITIONS}::test_a_rebalance_planned_before_the_hold_took_shard_0s_units_moves_nothing",
        also=(Edit(COUNTERS, '                ":units": {"N": str(out)},\n', ""),),
    ),
    mutant(
        "rebalance-only-into-kept-shards",
        COUNTERS,
        '"ConditionExpression": "onHand >= :units AND counterShards > :highest",',
        '"ConditionExpression": "onHand >= :units",',
        "a rebalance moves units into a shard the position dropped meanwhile: units lost to ATS",
        f"{GAPS}::test_a_rebalance_into_shards_the_position_dropped_at_its_gap_moves_nothing",
        also=(
            Edit(
                COUNTERS,
                '                ":highest": {"N": str(max(move.target for move in moves))},\n',
                "",
            ),
        ),
    ),
    mutant(
        "collapse-exact",
        COUNTERS,
        "            self._change_shard(change, -move.units, move.units, exact=True, shard=move.source)",
        "            self._change_shard(change, -move.units, None, exact=True, shard=move.source)",
        "folding shards back counts units a hold took from a dropped shard meanwhile",
        f"{GAPS}::test_folding_shards_back_reads_again_when_a_hold_drains_a_dropped_shard_at_its_gap",
    ),
    mutant(
        "reshard-count-as-read",
        COUNTERS,
        '            condition = "counterShards = :was"',
        '            condition = "attribute_exists(counterShards) OR counterShards = :was"',
        "a change of the shard count planned from a stale count strands units in shards no longer counted",
        f"{GAPS}::test_two_reshards_at_one_gap_leave_no_units_in_a_shard_the_position_no_longer_counts",
    ),
    mutant(
        "place-hold-total-covers-threshold",
        SHARDS,
        "    if sum(value for value in values if value > 0) < threshold:",
        "    if sum(value for value in values if value > 0) < quantity:",
        "a split hold is granted when the total covers the quantity but not the buffer",
        "tests/unit/test_shards.py::test_a_placed_hold_is_granted_exactly_when_the_total_covers_it",
    ),
    mutant(
        "place-hold-split-takes-as-read",
        SHARDS,
        "        takes.append(Take(shard, units, value))",
        "        takes.append(Take(shard, units, units))",
        "a split hold's takes no longer prove the total: oversell when shards moved",
        "tests/unit/test_shards.py::test_a_placed_hold_is_granted_exactly_when_the_total_covers_it",
    ),
    mutant(
        "cover-floor-planned",
        SHARDS,
        "    return Cover(len(values), tuple(moves), -(delta + pulled))",
        "    return Cover(len(values), tuple(moves), None)",
        "a cover that pulls units back carries no floor on shard 0",
        f"{GAPS}::test_a_till_sale_pulling_from_a_shard_reads_again_when_a_hold_drains_shard_0_at_the_gap",
        f"{SHARDED}::test_a_store_sale_larger_than_shard_0_pulls_units_back_from_the_shards",
    ),
    # -- release steps ----------------------------------------------------------------------
    mutant(
        "release-deactivates-hold-iqs",
        PLACEMENT,
        "        deactivated.append(hold_quantity(fo_ref, allocation, now))",
        "        pass",
        "a released hold's SOFT_RESERVE stays ACTIVE: counter and ledger drift",
        f"{EXPIRY}::test_ttl_deletion_of_a_timer_releases_the_hold",
    ),
    mutant(
        "release-gives-units-back",
        PLACEMENT,
        "        if (allocation.product_ref, allocation.location_ref) not in skipped:",
        "        if False:",
        "a released hold's units never come back",
        f"{EXPIRY}::test_ttl_deletion_of_a_timer_releases_the_hold",
    ),
    mutant(
        "release-deletes-timer",
        PLACEMENT,
        "timer_of=fo_ref)",
        "timer_of=None)",
        "cancelled and swept holds leave timers that fill reclaim's read of the oldest",
        f"{CONDITIONS}::test_ended_holds_leave_no_timer_so_reclaim_still_reaches_an_expired_hold_on_the_last_unit[cancelled]",
    ),
    mutant(
        "convert-deactivates-hold-iqs",
        ORDER_PLANS,
        "        deactivated.append(hold_quantity(cart.ref, allocation, now))",
        "        pass",
        "a converted hold's SOFT_RESERVE stays ACTIVE beside the RESERVED: counted twice",
        f"{ORDER_TESTS}::test_an_active_matching_cart_is_converted_without_moving_onhand_or_ats",
    ),
    mutant(
        "convert-deletes-timer",
        ORDER_PLANS,
        "timer_of=cart.ref)",
        "timer_of=None)",
        "converted holds leave timers that fill reclaim's read of the oldest",
        f"{CONDITIONS}::test_ended_holds_leave_no_timer_so_reclaim_still_reaches_an_expired_hold_on_the_last_unit[converted]",
    ),
    mutant(
        "order-cancel-deactivates-reserved",
        ORDER_PLANS,
        "        deactivated.append(order_quantity(ref, a, IqType.RESERVED, -a.quantity, now))\n"
        "        counters.append(CounterStep(a.product_ref, a.location_ref, a.quantity))",
        "        counters.append(CounterStep(a.product_ref, a.location_ref, a.quantity))",
        "a cancelled order's RESERVED stays ACTIVE while its units come back",
        f"{ORDER_TESTS}::test_cancelling_an_order_gives_its_units_back",
    ),
    mutant(
        "order-cancel-gives-units-back",
        ORDER_PLANS,
        "        counters.append(CounterStep(a.product_ref, a.location_ref, a.quantity))",
        "        pass",
        "a cancelled order's units never come back",
        f"{ORDER_TESTS}::test_cancelling_an_order_gives_its_units_back",
    ),
    mutant(
        "order-return-counts-units",
        ORDER_PLANS,
        "            counters.append(CounterStep(a.product_ref, a.location_ref, a.quantity, happened=now))",
        "            pass",
        "a returned order's units are in the ledger but not on hand",
        f"{ORDER_TESTS}::test_a_return_after_shipping_puts_the_units_back_on_hand",
    ),
    # -- expiry paths and timers ------------------------------------------------------------
    mutant(
        "hold-puts-timer",
        HOLD_PLANS,
        "        timer_until=expires_at,",
        "        timer_until=None,",
        "a hold without a timer is never found by TTL or the sweeper",
        f"{EXPIRY}::test_the_sweeper_releases_overdue_holds_that_ttl_has_not_deleted",
    ),
    mutant(
        "early-ttl-puts-timer-back",
        STORAGE_PLANS,
        "        writes.put_timer(fo_ref, expires_at)",
        "        pass",
        "a timer TTL deleted early (clock skew) is gone: the sweeper never finds the hold",
        f"{FAULTS}::test_expiry_records_redelivered_and_out_of_order_release_each_hold_once",
    ),
    mutant(
        "stream-releases",
        HOLDS,
        "        if self.release_expired(ref):\n            return True",
        "        if False:\n            return True",
        "TTL's deletion of a due timer releases nothing",
        f"{EXPIRY}::test_ttl_deletion_of_a_timer_releases_the_hold",
    ),
    mutant(
        "sweeper-releases",
        HOLDS,
        "        return len(overdue), sum(self.release_expired(ref) for ref in overdue)",
        "        return len(overdue), 0",
        "the sweeper finds overdue holds and releases none",
        f"{EXPIRY}::test_the_sweeper_releases_overdue_holds_that_ttl_has_not_deleted",
    ),
    mutant(
        "stream-and-sweeper-off",
        HOLDS,
        "        if self.release_expired(ref):\n            return True",
        "        if False:\n            return True",
        "neither the stream nor the sweeper releases: the sample expiry events must notice",
        f"{EVENTS}::test_event_succeeds_against_its_function[hold_expiry/expire-hold-timer.json]",
        f"{EVENTS}::test_event_succeeds_against_its_function[hold_expiry/sweep-overdue-holds.json]",
        also=(
            Edit(
                HOLDS,
                "        return len(overdue), sum(self.release_expired(ref) for ref in overdue)",
                "        return len(overdue), 0",
            ),
        ),
    ),
    mutant(
        "hold-reclaims-before-refusing",
        HOLDS,
        "            if not plans and self.reclaim_expired():",
        "            if not plans and False:",
        "a shopper a second after an expiry is refused the unit",
        f"{EXPIRY}::test_a_shopper_just_after_an_expiry_gets_the_unit_whatever_ttl_has_done",
    ),
    mutant(
        "order-reclaims-before-refusing",
        ORDERS,
        "                if not self._holds.reclaim_expired():\n                    raise",
        "                if True:\n                    raise",
        "an order refused while expired holds still count",
        f"{ORDER_TESTS}::test_an_order_refused_only_because_expired_holds_still_count_reclaims_them",
    ),
    # -- read-then-commit gaps closed in decision 14 -------------------------------------
    mutant(
        "cover-empty-shards-stay-empty",
        COUNTERS,
        "                    if shard not in pulled:\n                        self._still_empty(change.position_ref, shard)",
        "                    pass",
        "a count that empties the shards lands after a rebalance refilled them: shard 0 negative beside positive shards",
        f"{INTERLEAVED}::test_a_count_that_empties_the_shards_fails_and_redoes_if_a_rebalance_refilled_them",
    ),
    mutant(
        "lapsed-fence-taken-down",
        FEED_SERVICE,
        "                self._table.take_down_fence(record, now)  # then apply it again\n",
        "                pass\n",
        "a dead count's fence refuses every event it covers for ever",
        f"{INTERLEAVED}::test_a_snapshot_whose_fence_lapsed_starts_again_when_an_event_it_never_read_lands",
        f"{INTERLEAVED}::test_a_sale_and_a_shipment_take_down_a_fence_whose_writer_died",
    ),
    mutant(
        "convert-same-delivery",
        ORDERS,
        "            and hold.delivery_type == request.deliveryType\n            and hold.location_ref == request.locationRef\n",
        "",
        "a click & collect order at a store takes a home-delivery hold at the DC",
        f"{INTERLEAVED}::test_a_click_and_collect_order_does_not_convert_a_home_delivery_hold",
    ),
    mutant(
        "replacement-keeps-the-clock",
        HOLD_PLANS,
        "        expires_at = min(expires_at, replaced.expires_at)",
        "        pass",
        "replacing a cart every 14 minutes holds its stock for ever",
        f"{INTERLEAVED}::test_a_replacement_ends_no_later_than_the_cart_it_replaces",
    ),
    mutant(
        "cancel-unexpired",
        HOLDS,
        '            end = end_hold(document.held, "CANCELLED", now, unexpired_at=now)',
        '            end = end_hold(document.held, "CANCELLED", now)',
        "an abandoned cart (past its expiry) is recorded as cancelled",
        f"{INTERLEAVED}::test_cancelling_a_hold_past_its_expiry_releases_it_as_expired",
    ),
    # -- gaps the interleaving explorer found (decision 14) ------------------------------
    mutant(
        "collapse-dropped-shards-stay-empty",
        COUNTERS,
        "            if shard not in emptied:\n                self._still_empty(position.ref, shard)",
        "            pass",
        "a reshard to fewer shards strands units a rebalance moved into a shard it read as empty",
        f"{EXPLORER}::test_a_reshard_to_fewer_shards_strands_nothing_a_rebalance_moved_meanwhile",
    ),
    mutant(
        "reclaim-counts-releases-by-others",
        HOLDS,
        "                given_back += 1\n                self._table.delete_timer(",
        "                self._table.delete_timer(",
        "a refused cart misses the units an overdue hold gave back through another path",
        f"{EXPLORER}::test_a_refused_cart_gets_the_units_an_overdue_hold_gave_back_whoever_released_them",
    ),
    mutant(
        "order-step-lost-race-is-409",
        ORDERS,
        "            if current.status == status:\n                return order_view(current)",
        "            if True:\n                return order_view(current)",
        "a ship that lost to a cancel answers 200 CANCELLED",
        f"{EXPLORER}::test_ship_and_cancel_at_once_one_wins_and_the_other_is_refused",
    ),
    mutant(
        "extend-expiry-as-read",
        STORAGE_PLANS,
        "            expires_at_was=extension.expires_at_was,  # not extended by anyone since it was read\n",
        "",
        "two extensions at once both answer 200",
        f"{EXPLORER}::test_two_extends_at_once_extend_once_and_say_so_once",
    ),
]
