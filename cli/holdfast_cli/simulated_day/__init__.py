"""``holdfast simulate-day``'s day: the shoppers and their planted truth (:mod:`.shoppers`),
and the checks that the demand reports recover it (:mod:`.checks`)."""
