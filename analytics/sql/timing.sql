-- Demand report "timing", first part (docs/signals.md): carts held, orders and carts abandoned by
-- hour of day (section HOUR, 0-23) and ISO day of week (section DAY, 1 Monday - 7 Sunday) in a
-- time zone. Parameters, in order: from, to (ISO 8601 UTC with milliseconds), channel,
-- deliveryType (NULL: all), time zone (IANA, e.g. Europe/Paris).
WITH params AS (
  SELECT CAST(? AS varchar) AS start_at, CAST(? AS varchar) AS end_at, CAST(? AS varchar) AS channel_filter,
         CAST(? AS varchar) AS delivery_filter, CAST(? AS varchar) AS time_zone
),
s AS (
  SELECT DISTINCT sig.id, sig.type, sig."at", sig.foref, sig.orderref, sig.heldquantity
  FROM signals sig CROSS JOIN params p
  WHERE sig.dt BETWEEN substr(p.start_at, 1, 10) AND substr(p.end_at, 1, 10)
    AND sig.type IN ('FO_CALL', 'CONVERSION', 'ABANDONED')
    AND sig."at" >= p.start_at AND sig."at" < p.end_at
    AND (p.channel_filter IS NULL OR sig.channel = p.channel_filter)
    AND (p.delivery_filter IS NULL OR sig.detail.deliverytype = p.delivery_filter)
),
events AS (
  SELECT s.type, CASE WHEN s.type = 'CONVERSION' THEN s.orderref ELSE s.foref END AS ref,
         at_timezone(from_iso8601_timestamp(s."at"), p.time_zone) AS local_at
  FROM s CROSS JOIN params p
  WHERE (s.type = 'FO_CALL' AND s.heldquantity > 0) OR s.type IN ('CONVERSION', 'ABANDONED')
),
slots AS (
  SELECT 'HOUR' AS section, hour(local_at) AS slot, type, ref FROM events
  UNION ALL
  SELECT 'DAY' AS section, day_of_week(local_at) AS slot, type, ref FROM events
)
SELECT section, slot,
       count(DISTINCT CASE WHEN type = 'FO_CALL' THEN ref END) AS holds,
       count(DISTINCT CASE WHEN type = 'CONVERSION' THEN ref END) AS conversions,
       count(DISTINCT CASE WHEN type = 'ABANDONED' THEN ref END) AS abandoned
FROM slots
GROUP BY section, slot
ORDER BY section, slot
