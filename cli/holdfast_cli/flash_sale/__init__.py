"""The flash sale that ``holdfast flash-sale`` replays (docs/behaviour.md §8): the scenario
(:mod:`.scenario`), the shoppers at work (:mod:`.shoppers`), the checks at the end
(:mod:`.checks`) and one run from start to end (:mod:`.runner`)."""
