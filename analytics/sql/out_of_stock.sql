-- Demand report "locations", second part (docs/signals.md): out-of-stock demand per product x
-- location (NULL location: home delivery, any location), most units first. Parameters, in order:
-- from, to (ISO 8601 UTC with milliseconds), channel, deliveryType, productRef (NULL: all).
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at, CAST(? AS varchar) AS channel_filter,
         CAST(? AS varchar) AS delivery_filter, CAST(? AS varchar) AS product_filter
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig.productref, sig.locationref, sig.quantity, sig.foref
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('OUT_OF_STOCK', 'LOW_STOCK')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
    AND (p.product_filter IS NULL OR sig.productref = p.product_filter)
)
SELECT productref, locationref,
       count(DISTINCT CASE WHEN type = 'OUT_OF_STOCK' THEN foref END) AS outofstockcarts,
       coalesce(sum(CASE WHEN type = 'OUT_OF_STOCK' THEN quantity END), 0) AS outofstockunits,
       count(DISTINCT CASE WHEN type = 'LOW_STOCK' THEN id END) AS lowstockcrossings
FROM s
GROUP BY productref, locationref
ORDER BY outofstockunits DESC, lowstockcrossings DESC, productref, locationref NULLS FIRST
