-- Demand report "restocking" (docs/signals.md): per product x location with out-of-stock demand
-- (NULL location: home delivery, any location), unmet units a day and the days since the signals
-- last showed ATS there, most unmet first. Parameters, in order: from, to (ISO 8601 UTC with
-- milliseconds), channel, deliveryType, productRef (NULL: all), threshold (units a day; NULL: none).
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at, CAST(? AS varchar) AS channel_filter,
         CAST(? AS varchar) AS delivery_filter, CAST(? AS varchar) AS product_filter, CAST(? AS double) AS threshold
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig."at", sig.productref, sig.locationref, sig.quantity, sig.heldquantity,
         sig.detail.locations AS locations
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('FO_CALL', 'CONVERSION', 'OUT_OF_STOCK', 'LOW_STOCK')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
    AND (p.product_filter IS NULL OR sig.productref = p.product_filter)
),
unmet AS (
  SELECT productref, locationref, sum(quantity) AS units FROM s WHERE type = 'OUT_OF_STOCK' GROUP BY productref, locationref
),
evidence AS (
  SELECT productref, locationref AS location, "at" FROM s
  WHERE type = 'FO_CALL' AND heldquantity > 0 AND locationref IS NOT NULL
  UNION ALL
  SELECT s.productref, t.location, s."at" FROM s CROSS JOIN UNNEST(s.locations) AS t(location) WHERE s.type = 'CONVERSION'
  UNION ALL
  SELECT productref, locationref AS location, "at" FROM s WHERE type = 'LOW_STOCK' AND locationref IS NOT NULL
),
last_here AS (SELECT productref, location, max("at") AS last_at FROM evidence GROUP BY productref, location),
last_anywhere AS (SELECT productref, max("at") AS last_at FROM evidence GROUP BY productref),
rows AS (
  SELECT unmet.productref, unmet.locationref, unmet.units,
         round(unmet.units / (CAST(date_diff('millisecond', from_iso8601_timestamp(p.start_at), from_iso8601_timestamp(p.end_at)) AS double) / 86400000), 3) AS per_day,
         CASE WHEN unmet.locationref IS NULL THEN last_anywhere.last_at ELSE last_here.last_at END AS last_at,
         p.end_at, p.threshold
  FROM unmet CROSS JOIN params p
  LEFT JOIN last_here ON last_here.productref = unmet.productref AND last_here.location = unmet.locationref
  LEFT JOIN last_anywhere ON last_anywhere.productref = unmet.productref
)
SELECT productref, locationref, units AS outofstockunits, per_day AS unmetunitsperday, last_at AS lastatsat,
       round(CAST(date_diff('millisecond', from_iso8601_timestamp(last_at), from_iso8601_timestamp(end_at)) AS double) / 86400000, 3) AS dayssincelastats,
       coalesce(threshold IS NOT NULL AND per_day >= threshold, false) AS restocksuggested
FROM rows
ORDER BY unmetunitsperday DESC, productref, locationref NULLS FIRST
