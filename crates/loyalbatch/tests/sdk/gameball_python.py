"""Gameball's own Python SDK (gb-alpha 3.0, API v3.0) against a loyalbatch server.

Run by crates/loyalbatch/tests/processes/sdk.py's caller: python gameball_python.py BASE_URL APIKEY SECRET
Exits non-zero (an AssertionError) when any call does not do what the SDK's user expects.
"""
import sys
import time

import gameball
import gameball.constants
from gameball.exceptions.gameball_exception import GameballException
from gameball.models.player_object import playerAttributes

base, apikey, secret = sys.argv[1:4]
gameball.constants.api_base = f"{base}/api/v3.0/"
gameball.api_key = apikey
gameball.transaction_key = secret

saved = gameball.initialize_player(gameball.playerObject("p1", playerAttributes(display_name="Jon", tags="vip,gold")))
assert saved["playerUniqueId"] == "p1" and saved["gameballId"] > 0, saved
gameball.attach_tags("p1", "new")
gameball.detach_tags("p1", "gold")
player = gameball.get_player_info("p1")
assert player["playerAttributes"]["displayName"] == "Jon", player
assert player["playerAttributes"]["tags"] == ["vip", "new"], player

event = gameball.eventObject("p1", events={})
event.add_event("purchase", {"amount": 5})
assert gameball.send_event(event)["success"] is True

reward = gameball.reward_points(gameball.rewardObject("p1", 100, "tx1", merchant={"uniqueId": "m1"}))
assert reward["rewardedPoints"] == 100, reward
balance = gameball.get_player_balance("p1")
assert balance["pointsBalance"] == 100 and balance["availablePointsBalance"] == 100, balance

hold = gameball.hold_points("p1", 2)
assert hold["holdEquivalentPoints"] == 20, hold
redeemed = gameball.redeem_points("p1", "tx2", hold_reference=hold["holdReference"])
assert redeemed["redeemedPoints"] == 20, redeemed
assert gameball.redeem_points("p1", "tx3", redeemed_amount=1)["redeemedPoints"] == 10
released = gameball.reverse_hold(gameball.hold_points("p1", 1)["holdReference"])
assert released["success"] is True, released
assert gameball.manual_transaction("p1", "tx4", "admin", "bonus", points=10)["points"] == 10
refund = gameball.refund("p1", "tx5", "tx1", amount=50)
assert refund["refundedPoints"] == 50, refund
assert gameball.get_player_balance("p1")["pointsBalance"] == 30

listed = gameball.list_transactions(direction="+")
assert [t["type"] for t in listed["transactions"]] == ["PaymentReward", "HoldRelease", "ManualAccumulation"], listed

order = gameball.orderObject("p1", "o1", "2024-01-01T00:00:00Z", 100, 90, line_items=[], discount_codes=[], extra={})
assert gameball.send_order(order)["rewardedPoints"] == 90
assert gameball.get_configurations("en")["redemption"]["redemptionFactor"] == 0.1

job = gameball.start_batch(gameball.batchObject("POST", "balance", {}, {"playerUniqueIds": ["p1", "nobody"]}))
assert isinstance(job, int) and job > 0, job
deadline = time.time() + 30
while (status := gameball.get_batch(job))["status"] != "completed":
    assert time.time() < deadline, status
    time.sleep(0.05)
assert status["response"]["successful"][0]["availablePointsBalance"] == 120, status
assert status["response"]["failed"][0]["code"] == 7000, status

# Errors come back as the SDK's GameballException with Gameball's code.
error = gameball.manual_transaction("p1", "tx4", "admin", "again", points=1)
assert isinstance(error, GameballException) and "error code 9004" in str(error), error
print("the Gameball Python SDK works against loyalbatch")
