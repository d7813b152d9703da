"""The Lua scripts behind `rollout.store.redis`: each one is one round trip and runs atomically.

Why Lua rather than `WATCH`/`MULTI`: a compare-and-set with `WATCH` takes three round trips
(WATCH, read, MULTI..EXEC) and is retried by the losers, and the history append and the PUBLISH
would ride in the same transaction anyway. A script reads the version, writes the state, appends
the history rows and publishes the new version with nothing in between, in one round trip, and
the loser learns what is there now from the same reply. The aggregate scripts need the same
atomicity for the settle horizon: a row appended for a second below the horizon must be filed
as late with the horizon of that instant, which a read-then-write from the client cannot
guarantee between processes.

Keys live under the store's prefix P (docs/stores.md "Key layout"): P..state (hash),
P..history (list), P..settled (string), P..agg:<second>:<series> (hash of counters),
P..agg:index (sorted set of `<second>:<series>` by second), P..late:<fold>:<second>:<series>
and P..late:index (by fold second), P..batch:<id> (an applied aggregate batch, with a TTL).
Scripts build the per-second key names from the prefix they are given, so this layout is for
a single Redis (Memorystore standard/basic), not Redis Cluster, unless the prefix carries a
`{hash tag}` that puts every key in one slot.
"""

from __future__ import annotations

#: KEYS: state, history. ARGV: expected version, state JSON, updated_at, channel, entries...
#: Returns {1, new version} or {0, version, state JSON, updated_at} (what is there now).
CAS = """
local cur = redis.call('HMGET', KEYS[1], 'version', 'state', 'updated_at')
local version = tonumber(cur[1] or '0')
if version ~= tonumber(ARGV[1]) then
  return {0, tostring(version), cur[2] or '', cur[3] or ''}
end
version = version + 1
redis.call('HSET', KEYS[1], 'version', version, 'state', ARGV[2], 'updated_at', ARGV[3])
for i = 5, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
redis.call('PUBLISH', ARGV[4], version)
return {1, tostring(version)}
"""

#: KEYS: settled, agg index, late index, and the batch key when the batch has an id.
#: ARGV: prefix, ttl ms, batch ttl seconds, then per row: second, series, n, n field/increment
#: pairs. A row below the horizon is late (fold = horizon). With a batch key, `SET NX EX`
#: records the id first and a batch already recorded applies nothing (returns 0, else 1), in
#: the same script: a resent batch whose first send landed counts once.
APPEND = """
if #KEYS >= 4 and not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
local horizon = tonumber(redis.call('GET', KEYS[1]) or '-4611686018427387904')
local prefix, ttl = ARGV[1], ARGV[2]
local i = 4
while i <= #ARGV do
  local second, series, n = tonumber(ARGV[i]), ARGV[i + 1], tonumber(ARGV[i + 2])
  local key
  if second < horizon then
    local member = horizon .. ':' .. second .. ':' .. series
    key = prefix .. 'late:' .. member
    redis.call('ZADD', KEYS[3], horizon, member)
  else
    local member = second .. ':' .. series
    key = prefix .. 'agg:' .. member
    redis.call('ZADD', KEYS[2], second, member)
  end
  for j = i + 3, i + 2 + 2 * n, 2 do
    redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1])
  end
  redis.call('PEXPIRE', key, ttl)
  i = i + 3 + 2 * n
end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
"""

#: KEYS: settled. ARGV: until. Moves the horizon forward to `until`, never back. Once it has,
#: an on-time row of a second before `until` is never incremented again (APPEND files it
#: late), so reading those rows afterwards, in as many calls as it takes, reads final values.
SETTLE = """
local horizon = tonumber(redis.call('GET', KEYS[1]) or '-4611686018427387904')
if tonumber(ARGV[1]) > horizon then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 0
"""

#: KEYS: an index. ARGV: prefix .. kind .. ':', low, high (exclusive), window seconds.
#: One window of the index: from its first member at or after `low` (so gaps cost nothing)
#: to `window` seconds on, at most `high`. Returns {next low, member, {field, value, ...}, ...};
#: next low is `high` once nothing is left. Windows keep each call short on a Redis that
#: every gateway shares, however long the range asked for.
READ = """
local high = tonumber(ARGV[3])
local first = redis.call(
  'ZRANGEBYSCORE', KEYS[1], ARGV[2], '(' .. ARGV[3], 'WITHSCORES', 'LIMIT', 0, 1)
if #first == 0 then
  return {ARGV[3]}
end
local stop = tonumber(first[2]) + tonumber(ARGV[4])
local stop_s = ARGV[3]
if stop < high then
  stop_s = string.format('%d', stop)
end
local out = {stop_s}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], first[2], '(' .. stop_s)) do
  out[#out + 1] = member
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. member)
end
return out
"""

#: KEYS: agg index, late index. ARGV: prefix, before second, batch. Deletes up to `batch` rows
#: (on time or late) of seconds before `before`; returns how many index entries it removed
#: (a row whose key its TTL already took counts too, so a full batch always reads as full). The
#: caller repeats while a whole batch went, so no single call holds a shared Redis for long.
PRUNE = """
local deleted = 0
local before = tonumber(ARGV[2])
local batch = tonumber(ARGV[3])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, batch)
for _, member in ipairs(old) do
  redis.call('DEL', ARGV[1] .. 'agg:' .. member)
  redis.call('ZREM', KEYS[1], member)
  deleted = deleted + 1  -- counted by index entry: a row its TTL took already still counts
end
if #old >= batch then
  return deleted
end
-- Late rows are few (what processes kept through an outage): scan them whole.
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local second = tonumber(string.match(member, '^[^:]+:([^:]+):'))
  if second < before then
    redis.call('DEL', ARGV[1] .. 'late:' .. member)
    redis.call('ZREM', KEYS[2], member)
    deleted = deleted + 1
  end
end
return deleted
"""

#: KEYS: lease. ARGV: holder, ttl ms. `SET NX PX` takes a free (or expired) lease; the holder
#: renews its own; anyone else is refused. 1 = held by `holder` now.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

#: KEYS: lease. ARGV: holder. Only the holder releases.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
