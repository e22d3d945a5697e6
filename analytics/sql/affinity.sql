-- Demand report "affinity" (docs/signals.md): product pairs held together (kind HELD: carts that
-- held stock) and abandoned together (kind ABANDONED: holds that expired), with support and lift;
-- pairs in at least minCount carts, the first `limit` of each kind. Parameters, in order: from, to
-- (ISO 8601 UTC with milliseconds), channel, deliveryType (NULL: all), minCount, limit.
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at, CAST(? AS varchar) AS channel_filter,
         CAST(? AS varchar) AS delivery_filter, CAST(? AS bigint) AS min_count, CAST(? AS bigint) AS max_rows
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig.productref, sig.foref, sig.heldquantity
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('FO_CALL', 'ABANDONED')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
),
baskets AS (
  SELECT 'HELD' AS kind, foref, productref FROM s WHERE type = 'FO_CALL' AND heldquantity > 0
  UNION
  SELECT 'ABANDONED' AS kind, foref, productref FROM s WHERE type = 'ABANDONED'
),
totals AS (SELECT kind, count(DISTINCT foref) AS carts FROM baskets GROUP BY kind),
singles AS (SELECT kind, productref, count(*) AS carts FROM baskets GROUP BY kind, productref),
pairs AS (
  SELECT a.kind, a.productref AS producta, b.productref AS productb, count(*) AS carts
  FROM baskets a JOIN baskets b ON a.kind = b.kind AND a.foref = b.foref AND a.productref < b.productref
  GROUP BY a.kind, a.productref, b.productref
),
scored AS (
  SELECT pairs.kind, pairs.producta, pairs.productb, pairs.carts, totals.carts AS baskets,
         round(CAST(pairs.carts AS double) / totals.carts, 4) AS support,
         round(CAST(pairs.carts AS double) * totals.carts / (CAST(a.carts AS double) * b.carts), 4) AS lift
  FROM pairs
  JOIN totals ON totals.kind = pairs.kind
  JOIN singles a ON a.kind = pairs.kind AND a.productref = pairs.producta
  JOIN singles b ON b.kind = pairs.kind AND b.productref = pairs.productb
  CROSS JOIN params p
  WHERE pairs.carts >= p.min_count
),
ranked AS (
  SELECT scored.*, row_number() OVER (PARTITION BY kind ORDER BY carts DESC, lift DESC, producta, productb) AS position
  FROM scored
)
SELECT kind, producta, productb, carts, support, lift, baskets, position
FROM ranked CROSS JOIN params p
WHERE position <= p.max_rows
ORDER BY kind, position
