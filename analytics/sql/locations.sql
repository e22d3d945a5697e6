-- Demand report "locations", first part (docs/signals.md): per location, the carts whose plans
-- would fulfil from it and the orders it fulfilled. Parameters, in order: from, to (ISO 8601 UTC
-- with milliseconds), channel, deliveryType (NULL: all).
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at,
         CAST(? AS varchar) AS channel_filter, CAST(? AS varchar) AS delivery_filter
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig.foref, sig.orderref,
         sig.detail.planlocations AS planlocations, sig.detail.locations AS locations
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('FO_CALL', 'CONVERSION')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
),
planned AS (
  SELECT t.location AS locationref, count(DISTINCT s.foref) AS plannedcarts
  FROM s CROSS JOIN UNNEST(s.planlocations) AS t(location)
  WHERE s.type = 'FO_CALL'
  GROUP BY t.location
),
fulfilled AS (
  SELECT t.location AS locationref, count(DISTINCT s.orderref) AS fulfilledorders
  FROM s CROSS JOIN UNNEST(s.locations) AS t(location)
  WHERE s.type = 'CONVERSION'
  GROUP BY t.location
),
joined AS (
  SELECT coalesce(planned.locationref, fulfilled.locationref) AS locationref,
         coalesce(planned.plannedcarts, 0) AS plannedcarts, coalesce(fulfilled.fulfilledorders, 0) AS fulfilledorders
  FROM planned FULL OUTER JOIN fulfilled ON planned.locationref = fulfilled.locationref
)
SELECT locationref, plannedcarts, fulfilledorders,
       CASE WHEN plannedcarts > 0 THEN round(CAST(fulfilledorders AS double) / plannedcarts, 4) END AS fulfilmentshare
FROM joined
ORDER BY fulfilledorders DESC, plannedcarts DESC, locationref
