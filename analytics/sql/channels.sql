-- Demand report "channels" (docs/signals.md): carts, holds, orders, conversion and abandonment
-- per channel x delivery type. Parameters, in order: from, to (ISO 8601 UTC with milliseconds,
-- e.g. 2026-11-27T00:00:00.000Z; from inclusive, to exclusive), channel, deliveryType (NULL: all).
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at,
         CAST(? AS varchar) AS channel_filter, CAST(? AS varchar) AS delivery_filter
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig.channel, sig.foref, sig.orderref, sig.outcome, sig.heldquantity,
         sig.detail.deliverytype AS deliverytype, sig.detail.convertedfromhold AS convertedfromhold
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('FO_CALL', 'CONVERSION', 'ABANDONED')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
),
counts AS (
  SELECT channel, deliverytype,
         count(DISTINCT CASE WHEN type = 'FO_CALL' THEN foref END) AS carts,
         count(DISTINCT CASE WHEN type = 'FO_CALL' AND heldquantity > 0 THEN foref END) AS heldcarts,
         count(DISTINCT CASE WHEN type = 'FO_CALL' AND outcome = 'NO_OPTIONS' THEN foref END) AS refusedcarts,
         count(DISTINCT CASE WHEN type = 'CONVERSION' THEN orderref END) AS orders,
         count(DISTINCT CASE WHEN type = 'CONVERSION' AND convertedfromhold THEN foref END) AS convertedcarts,
         count(DISTINCT CASE WHEN type = 'ABANDONED' THEN foref END) AS abandonedcarts
  FROM s
  GROUP BY channel, deliverytype
)
SELECT channel, deliverytype, carts, heldcarts, refusedcarts, orders, convertedcarts, abandonedcarts,
       CASE WHEN heldcarts > 0 THEN round(CAST(convertedcarts AS double) / heldcarts, 4) END AS conversionrate,
       CASE WHEN heldcarts > 0 THEN round(CAST(abandonedcarts AS double) / heldcarts, 4) END AS abandonmentrate
FROM counts
ORDER BY channel NULLS FIRST, deliverytype NULLS FIRST
