-- The shipped scenarios (loaded after schema.sql). Add one with an INSERT into each table;
-- `sim --list` shows them. Times are in simulated seconds unless a column says ms.

-- 1. A quiet evening: 50 servers, a few running, players trickle in everywhere.
INSERT INTO scenario (name, description, minutes, api_5xx, api_timeout, backend_refuse,
                      client_drip, client_vanish, client_half_close, sqlite_busy)
VALUES ('quiet-evening', 'a quiet evening across 50 servers, a few running', 30,
        0.01, 0.005, 0.005, 0.02, 0.01, 0.02, 0.01);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49)
INSERT INTO server (scenario, id, host, state, idle_stop_s, min_online_s)
SELECT 'quiet-evening', 's' || i, 'mc' || i || '.example.net',
       CASE WHEN i % 10 = 0 THEN 'running' ELSE 'sleeping' END, 180, 60 FROM n;
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('quiet-evening', 'steady', NULL, 3, 240),
  ('quiet-evening', 'pinger', NULL, 6, 0);

-- 2. A join storm: 200 players hit one sleeping server within ten seconds.
INSERT INTO scenario (name, description, minutes, client_drip, client_half_close)
VALUES ('join-storm', 'a join storm on one sleeping server', 5, 0.02, 0.02);
INSERT INTO server (scenario, id, host, state, start_ms, start_jitter_ms) VALUES
  ('join-storm', 's0', 'event.example.net', 'sleeping', 12000, 6000),
  ('join-storm', 's1', 'lobby.example.net', 'running', 8000, 2000);
INSERT INTO players (scenario, pattern, server, count, at_s, window_s, play_s) VALUES
  ('join-storm', 'storm', 's0', 200, 20, 10, 180);
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('join-storm', 'steady', 's1', 4, 120),
  ('join-storm', 'pinger', 's0', 20, 0);

-- 3. The API goes dark for two minutes while servers are being woken.
INSERT INTO scenario (name, description, minutes, api_5xx, api_timeout, api_garbage, api_stale,
                      outage_from_s, outage_to_s, sqlite_busy)
VALUES ('api-outage', 'an API outage during wakes (5xx, timeouts, garbage, stale documents)', 8,
        0.1, 0.05, 0.05, 0.05, 60, 180, 0.05);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 7)
INSERT INTO server (scenario, id, host, state, idle_stop_s, min_online_s, start_timeout_s)
SELECT 'api-outage', 's' || i, 'w' || i || '.example.net',
       CASE WHEN i < 2 THEN 'running' ELSE 'sleeping' END, 90, 30, 45 FROM n;
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('api-outage', 'steady', NULL, 8, 90);
INSERT INTO players (scenario, pattern, server, count, at_s, window_s, play_s) VALUES
  ('api-outage', 'storm', 's5', 30, 70, 20, 60);

-- 4. A scanner flood of status pings and junk, with legitimate players among it.
INSERT INTO scenario (name, description, minutes, client_drip, client_vanish, backend_refuse)
VALUES ('scanner-flood', 'a scanner flood of status pings with legitimate players', 5,
        0.05, 0.05, 0.01);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4)
INSERT INTO server (scenario, id, host, state)
SELECT 'scanner-flood', 's' || i, 'play' || i || '.example.net',
       CASE WHEN i = 0 THEN 'running' ELSE 'sleeping' END FROM n;
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('scanner-flood', 'scanner', '?', 300, 0),
  ('scanner-flood', 'scanner', NULL, 200, 0),
  ('scanner-flood', 'steady', NULL, 6, 120);

-- 5. A backend that accepts TCP (and answers status) well before it takes logins.
INSERT INTO scenario (name, description, minutes, backend_reset, client_half_close)
VALUES ('early-accept', 'a backend that accepts TCP before it accepts logins', 6, 0.01, 0.02);
INSERT INTO server (scenario, id, host, state, start_ms, status_lag_ms, login_lag_ms,
                    slow_start, start_timeout_s) VALUES
  ('early-accept', 's0', 'modded.example.net', 'sleeping', 15000, 0, 8000, 0.1, 40),
  ('early-accept', 's1', 'vanilla.example.net', 'sleeping', 5000, 500, 0, 0, 40);
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('early-accept', 'steady', NULL, 6, 60);
INSERT INTO players (scenario, pattern, server, count, at_s, window_s, play_s, cycles) VALUES
  ('early-accept', 'reconnect', 's0', 5, 10, 30, 20, 4);

-- 6. Two gateway replicas behind one load balancer, sharing one API.
INSERT INTO scenario (name, description, minutes, replicas, api_5xx, api_timeout, sqlite_busy,
                      client_half_close)
VALUES ('two-replicas', 'two gateway replicas sharing one API', 8, 2, 0.02, 0.02, 0.02, 0.02);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
INSERT INTO server (scenario, id, host, state, idle_stop_s, min_online_s)
SELECT 'two-replicas', 's' || i, 'r' || i || '.example.net',
       CASE WHEN i = 0 THEN 'running' ELSE 'sleeping' END, 60, 30 FROM n;
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('two-replicas', 'steady', NULL, 10, 45);
INSERT INTO players (scenario, pattern, server, count, at_s, window_s, play_s, cycles) VALUES
  ('two-replicas', 'reconnect', 's3', 8, 30, 60, 15, 5);

-- 7. Servers come and go from the document while players connect (not in the CI sweep: it
--    shows a known gap, see docs/simulation.md).
INSERT INTO scenario (name, description, minutes, api_churn)
VALUES ('churn', 'servers removed from and restored to the document while players connect', 5,
        0.2);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
INSERT INTO server (scenario, id, host, state)
SELECT 'churn', 's' || i, 'c' || i || '.example.net', 'running' FROM n;
INSERT INTO players (scenario, pattern, server, per_min, play_s) VALUES
  ('churn', 'steady', NULL, 30, 60),
  ('churn', 'pinger', NULL, 30, 0);
