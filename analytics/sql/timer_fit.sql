-- Demand report "timing", second part (docs/signals.md): the timer fit. Section SECONDS: orders
-- converting a hold per bucket of seconds to convert (seconds = the bucket's start); TIMER: held
-- carts per timer length (seconds); AFTER_EXPIRY: orders for a cart whose hold had already ended.
-- Parameters, in order: from, to (ISO 8601 UTC with milliseconds), channel, deliveryType (NULL:
-- all), bucket width in seconds.
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at, CAST(? AS varchar) AS channel_filter,
         CAST(? AS varchar) AS delivery_filter, CAST(? AS bigint) AS bucket_seconds
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig.foref, sig.orderref, sig.heldquantity, sig.secondstoconvert,
         sig.detail.convertedfromhold AS convertedfromhold, sig.detail.timerminutes AS timerminutes
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('FO_CALL', 'CONVERSION')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
)
SELECT 'SECONDS' AS section,
       CAST(floor(s.secondstoconvert / p.bucket_seconds) AS bigint) * p.bucket_seconds AS seconds,
       count(DISTINCT s.orderref) AS count
FROM s CROSS JOIN params p
WHERE s.type = 'CONVERSION' AND s.convertedfromhold AND s.secondstoconvert IS NOT NULL
GROUP BY CAST(floor(s.secondstoconvert / p.bucket_seconds) AS bigint) * p.bucket_seconds
UNION ALL
SELECT 'TIMER' AS section, CAST(s.timerminutes AS bigint) * 60 AS seconds, count(DISTINCT s.foref) AS count
FROM s
WHERE s.type = 'FO_CALL' AND s.heldquantity > 0 AND s.timerminutes IS NOT NULL
GROUP BY CAST(s.timerminutes AS bigint) * 60
UNION ALL
SELECT 'AFTER_EXPIRY' AS section, CAST(NULL AS bigint) AS seconds, count(DISTINCT s.orderref) AS count
FROM s
WHERE s.type = 'CONVERSION' AND s.foref IS NOT NULL AND NOT coalesce(s.convertedfromhold, false)
ORDER BY section, seconds
