-- The simulator's scenario store: one row per scenario, its servers and its arrival plans.
-- A scenario is a hydrated starting state: the farm as it looks at some moment, plus who
-- arrives and what breaks. See docs/simulation.md, "Adding a scenario".
CREATE TABLE IF NOT EXISTS scenario (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  minutes     INTEGER NOT NULL DEFAULT 10,      -- default simulated run length
  replicas    INTEGER NOT NULL DEFAULT 1 CHECK (replicas BETWEEN 1 AND 4),
  refresh_s   INTEGER NOT NULL DEFAULT 10,      -- routes refresh (1 s while a server starts)
  -- fault probabilities, per request / connect / client
  api_5xx REAL NOT NULL DEFAULT 0, api_timeout REAL NOT NULL DEFAULT 0,
  api_garbage REAL NOT NULL DEFAULT 0, api_stale REAL NOT NULL DEFAULT 0,
  backend_refuse REAL NOT NULL DEFAULT 0, backend_reset REAL NOT NULL DEFAULT 0,
  backend_stall REAL NOT NULL DEFAULT 0,
  client_drip REAL NOT NULL DEFAULT 0, client_vanish REAL NOT NULL DEFAULT 0,
  client_half_close REAL NOT NULL DEFAULT 0,
  sqlite_busy REAL NOT NULL DEFAULT 0,
  api_churn REAL NOT NULL DEFAULT 0,            -- per fetch: a server leaves or rejoins the doc
  outage_from_s INTEGER NOT NULL DEFAULT 0,     -- the API answers nothing in [from, to)
  outage_to_s   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS server (
  scenario TEXT NOT NULL REFERENCES scenario(name),
  id       TEXT NOT NULL,                       -- short: "s0".."s49"
  host     TEXT NOT NULL,
  state    TEXT NOT NULL DEFAULT 'sleeping'
           CHECK (state IN ('sleeping', 'starting', 'running', 'stopping', 'failed')),
  join_policy     TEXT NOT NULL DEFAULT 'hold' CHECK (join_policy IN ('hold', 'kick')),
  idle_stop_s     INTEGER NOT NULL DEFAULT 120,
  min_online_s    INTEGER NOT NULL DEFAULT 60,
  start_timeout_s INTEGER NOT NULL DEFAULT 60,
  start_ms        INTEGER NOT NULL DEFAULT 8000,  -- start call -> accepts TCP
  start_jitter_ms INTEGER NOT NULL DEFAULT 4000,
  status_lag_ms   INTEGER NOT NULL DEFAULT 500,   -- accepts TCP -> answers status
  login_lag_ms    INTEGER NOT NULL DEFAULT 0,     -- answers status -> takes logins
  stop_ms         INTEGER NOT NULL DEFAULT 3000,
  slow_start      REAL NOT NULL DEFAULT 0,        -- chance a start outlasts start_timeout_s
  PRIMARY KEY (scenario, id)
);

CREATE TABLE IF NOT EXISTS players (
  scenario  TEXT NOT NULL REFERENCES scenario(name),
  pattern   TEXT NOT NULL CHECK (pattern IN ('steady', 'storm', 'scanner', 'pinger', 'reconnect')),
  server    TEXT,                               -- a server id; NULL: any; '?': unknown hosts
  count     INTEGER NOT NULL DEFAULT 0,         -- storm / reconnect: clients
  per_min   REAL NOT NULL DEFAULT 0,            -- steady / scanner / pinger: arrivals a minute
  at_s      INTEGER NOT NULL DEFAULT 0,
  window_s  INTEGER NOT NULL DEFAULT 0,         -- 0: until the end of the run
  play_s    INTEGER NOT NULL DEFAULT 120,       -- mean stay once in
  cycles    INTEGER NOT NULL DEFAULT 1,         -- reconnect: joins per client
  protocol  INTEGER NOT NULL DEFAULT 0          -- 0: a mix of real versions
);
