@@ Statement corpus for StatementClassifierCorpusTest.
@@ "@ ROUTE COMMAND [hint=H] [unknown=a,b]" starts a case; the SQL is every line up to the next "@" line.
@@ "@@" lines are comments. Cases labelled PRIMARY must never reach a standby under any mutation.

@@ ---- simple reads
@ STANDBY QUERY
SELECT 1
@ STANDBY QUERY
select 1;
@ STANDBY QUERY
SeLeCt * FROM users WHERE id = 42
@ STANDBY QUERY
SELECT id, name FROM users WHERE email = $1 LIMIT 1
@ STANDBY QUERY
VALUES (1, 'a'), (2, 'b')
@ STANDBY QUERY
TABLE users
@ STANDBY QUERY
(SELECT 1) UNION ALL (SELECT 2)
@ STANDBY QUERY
((SELECT a FROM t1)) EXCEPT SELECT a FROM t2
@ STANDBY QUERY
SELECT count(*), sum(amount), avg(amount), min(created_at), max(created_at) FROM orders
@ STANDBY QUERY
SELECT now(), current_timestamp, current_date, CURRENT_TIMESTAMP(3), localtimestamp
@ STANDBY QUERY
SELECT coalesce(nickname, name), lower(email), upper(code), length(bio) FROM users
@ STANDBY QUERY
SELECT substring(title from 1 for 10), position('x' in title), trim(both ' ' from title) FROM posts
@ STANDBY QUERY
SELECT to_char(created_at, 'YYYY-MM-DD'), date_trunc('day', created_at) AS d FROM events GROUP BY 1, 2
@ STANDBY QUERY
SELECT extract(epoch from now() - created_at)::int FROM jobs
@ STANDBY QUERY
SELECT x::int, y::numeric(10, 2), z::character varying(20), w::timestamp(3) with time zone FROM t
@ STANDBY QUERY
SELECT CAST(price AS decimal(12,2)), CAST(id AS text) FROM items
@ STANDBY QUERY
SELECT CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END FROM nums
@ STANDBY QUERY
SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE country = 'DE')
@ STANDBY QUERY
SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id)
@ STANDBY QUERY
SELECT * FROM orders WHERE NOT EXISTS(SELECT 1 FROM x) AND status = ANY($1) AND id <> ALL(ARRAY[1,2])
@ STANDBY QUERY
SELECT array_agg(id ORDER BY id), string_agg(name, ', ') FROM tags
@ STANDBY QUERY
SELECT json_build_object('id', id, 'tags', jsonb_agg(tag)) FROM posts GROUP BY id
@ STANDBY QUERY
SELECT data->>'name', data #>> '{a,b}', jsonb_array_length(data->'items') FROM docs WHERE data @> '{"x":1}'
@ STANDBY QUERY
SELECT * FROM generate_series(1, 10) AS g(i)
@ STANDBY QUERY
SELECT i FROM generate_series(1, 10) g(i)
@ STANDBY QUERY
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, name)
@ STANDBY QUERY
SELECT * FROM (VALUES (1, 'a')) v(id, name) JOIN t ON t.id = v.id
@ STANDBY QUERY
SELECT pg_is_in_recovery(), version(), current_setting('server_version_num')
@ STANDBY QUERY
SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
@ STANDBY QUERY
SELECT row_number() OVER (PARTITION BY dept ORDER BY salary DESC), rank() OVER w FROM emp WINDOW w AS (ORDER BY salary)
@ STANDBY QUERY
SELECT count(*) FILTER (WHERE status = 'open') FROM tickets
@ STANDBY QUERY
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency) FROM requests
@ STANDBY QUERY
SELECT DISTINCT ON (user_id) user_id, created_at FROM sessions ORDER BY user_id, created_at DESC
@ STANDBY QUERY
SELECT a, b, sum(c) FROM t GROUP BY GROUPING SETS ((a), (b), ()) HAVING sum(c) > 0
@ STANDBY QUERY
SELECT a, sum(b) FROM t GROUP BY ROLLUP (a), CUBE (b)
@ STANDBY QUERY
SELECT * FROM t ORDER BY id FETCH FIRST (10) ROWS ONLY
@ STANDBY QUERY
SELECT * FROM t LIMIT 10 OFFSET 20
@ STANDBY QUERY
SELECT * FROM big TABLESAMPLE SYSTEM (10) REPEATABLE (42)
@ STANDBY QUERY
SELECT * FROM big TABLESAMPLE BERNOULLI (5)
@ STANDBY QUERY
SELECT ts AT TIME ZONE 'UTC', ts AT TIME ZONE current_setting('TimeZone') FROM t
@ STANDBY QUERY
SELECT * FROM t WHERE a BETWEEN SYMMETRIC 1 AND 10 AND (b, c) OVERLAPS (d, e)
@ STANDBY QUERY
SELECT * FROM t WHERE name LIKE 'abc%' ESCAPE '!' OR name ILIKE ANY (ARRAY['a%', 'b%'])
@ STANDBY QUERY
SELECT ROW(1, 2) = ROW(1, 2), ARRAY(SELECT 1), (SELECT max(id) FROM t)
@ STANDBY QUERY
SELECT greatest(a, b), least(a, b), nullif(a, 0), abs(a), round(b, 2), floor(c) FROM t
@ STANDBY QUERY
SELECT * FROM t1 CROSS JOIN LATERAL (SELECT * FROM t2 WHERE t2.a = t1.a LIMIT 1) x
@ STANDBY QUERY
SELECT * FROM t1 LEFT JOIN LATERAL unnest(t1.arr) WITH ORDINALITY AS u(elem, n) ON true
@ STANDBY QUERY
SELECT * FROM ROWS FROM (generate_series(1, 3), unnest(ARRAY['a', 'b'])) AS x(a, b)
@ STANDBY QUERY
SELECT gen_random_uuid(), random(), md5('x'), encode(sha256('x'), 'hex')
@ STANDBY QUERY
SELECT to_tsvector('english', body) @@ plainto_tsquery('english', $1) FROM docs
@ STANDBY QUERY
SELECT interval '1 day', date '2024-01-01', timestamp '2024-01-01 00:00', INTERVAL(3) '1.2345 sec'
@ STANDBY QUERY
SELECT interval '1' day to second(3)
@ STANDBY QUERY
SELECT 1.5e10, .5, 0x1F, 1_000_000, 0b101, 0o17, -42
@ STANDBY QUERY
SELECT * FROM ONLY parent WHERE id = 1
@ STANDBY QUERY
SELECT * FROM t FOR READ ONLY
@ STANDBY QUERY
SELECT count(*) FROM pg_stat_activity WHERE state = 'active'
@ STANDBY QUERY
SELECT pg_size_pretty(pg_total_relation_size('orders'))
@ STANDBY QUERY
SELECT set_config('search_path', 'app', true)
@ STANDBY QUERY
SELECT set_config('statement_timeout', '5s', 'on')
@ STANDBY QUERY
SELECT pg_catalog.set_config('work_mem', '64MB', TRUE)
@ STANDBY QUERY
SELECT pg_catalog.pg_get_userbyid(c.relowner), pg_catalog.obscure_catalog_function(1) FROM pg_catalog.pg_class c
@ STANDBY QUERY
SELECT "count"(*) FROM "Users"
@ STANDBY QUERY
SELECT "update", "delete", "insert", "into" FROM "for" WHERE "share" = 1
@ STANDBY QUERY
SELECT 'DELETE FROM users; DROP TABLE users' AS s
@ STANDBY QUERY
SELECT 'it''s; INSERT INTO x VALUES (1)', E'escaped \' INSERT; quote', $$UPDATE t SET a = 1$$
@ STANDBY QUERY
SELECT $body$ nextval('s'); DELETE FROM t; $body$ AS code
@ STANDBY QUERY
SELECT $a$ $b$ UPDATE $b$ $a$
@ STANDBY QUERY
SELECT U&'d\0061t\+000061 DELETE', U&"d\0061t" FROM t
@ STANDBY QUERY
SELECT U&'d!0061t' UESCAPE '!'
@ STANDBY QUERY
SELECT B'1010', X'FF', N'national', e'\\'
@ STANDBY QUERY
SELECT "weird "" name; DELETE" FROM t
@ STANDBY QUERY
SELECT 1 -- ; DELETE FROM t
@ STANDBY QUERY
SELECT /* DELETE FROM t; */ 1
@ STANDBY QUERY
SELECT /* outer /* nested; UPDATE t SET a = 1 */ still comment; */ 1
@ STANDBY QUERY
SELECT 2 --- triple dash comment ; INSERT
@ STANDBY QUERY
SELECT a-1, b+-2, c*/*comment*/3 FROM t
@ STANDBY QUERY
SELECT 1; SELECT 2;
@ STANDBY QUERY
SELECT 1;;; SELECT 2
@ STANDBY QUERY
;SELECT 1
@ STANDBY QUERY
SHOW server_version
@ STANDBY QUERY
SHOW ALL
@ STANDBY QUERY
show transaction isolation level
@ STANDBY QUERY
SHOW TIME ZONE
@ STANDBY QUERY
SELECT pg_sleep(0.1)
@ STANDBY QUERY
SELECT a FROM t WHERE b ~ '^\d+$'
@ STANDBY QUERY
SELECT txid_current_snapshot(), pg_current_snapshot(), pg_backend_pid()
@ STANDBY QUERY
SELECT x FROM t WHERE id = $1 AND tenant = $2 AND created > $3::timestamptz
@ STANDBY QUERY
SELECT * FROM t WHERE a IS DISTINCT FROM b AND c IS NOT NULL AND d ISNULL
@ STANDBY QUERY
SELECT * FROM t WHERE val SIMILAR TO '(a|b)%'
@ STANDBY QUERY
SELECT information_schema._pg_truetypid(a, t) FROM pg_attribute a, pg_type t LIMIT 1
@ STANDBY QUERY
SELECT ' unterminated-looking -- ' || '/* not a comment' AS s
@ STANDBY QUERY
SELECT 'a'
'b' AS continued
@ STANDBY QUERY
SELECT jsonb_path_query(doc, '$.a[*] ? (@ > 1)') FROM t
@ STANDBY QUERY
SELECT a FROM t WHERE a = ANY ($1::int[]) ORDER BY a NULLS LAST
@ STANDBY QUERY
SELECT lag(x) OVER (ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM s

@@ ---- CTEs
@ STANDBY QUERY
WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 day') SELECT count(*) FROM recent
@ STANDBY QUERY
WITH RECURSIVE tree(id, parent, depth) AS (
  SELECT id, parent_id, 0 FROM nodes WHERE parent_id IS NULL
  UNION ALL
  SELECT n.id, n.parent_id, t.depth + 1 FROM nodes n JOIN tree t ON n.parent_id = t.id
) SELECT * FROM tree
@ STANDBY QUERY
WITH a(x) AS MATERIALIZED (SELECT 1), b(y) AS NOT MATERIALIZED (SELECT 2) SELECT * FROM a, b
@ STANDBY QUERY
WITH RECURSIVE search_graph(id, link) AS (SELECT g.id, g.link FROM graph g UNION ALL SELECT g.id, g.link FROM graph g, search_graph sg WHERE g.id = sg.link) SEARCH DEPTH FIRST BY id SET ordercol CYCLE id SET is_cycle USING path SELECT * FROM search_graph
@ PRIMARY QUERY
WITH moved AS (DELETE FROM queue WHERE id = 1 RETURNING *) SELECT * FROM moved
@ PRIMARY QUERY
WITH a AS (SELECT 1), b AS (WITH c AS (UPDATE t SET x = 1 RETURNING id) SELECT id FROM c) SELECT * FROM a, b
@ PRIMARY QUERY
WITH ins AS (INSERT INTO log(msg) VALUES ('x') RETURNING id) SELECT id FROM ins
@ PRIMARY QUERY
WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x
@ PRIMARY QUERY
WITH x AS (SELECT id FROM t) UPDATE t SET a = 1 FROM x WHERE t.id = x.id
@ PRIMARY QUERY
WITH x AS (SELECT 1) DELETE FROM t
@ PRIMARY QUERY
WITH src AS (SELECT 1 AS id) MERGE INTO t USING src ON t.id = src.id WHEN MATCHED THEN DELETE
@ PRIMARY QUERY
WITH s AS (SELECT nextval('seq') AS id) SELECT id FROM s
@ PRIMARY QUERY
WITH s AS (SELECT * FROM jobs FOR UPDATE SKIP LOCKED LIMIT 1) SELECT * FROM s

@@ ---- locking clauses, SELECT INTO
@ PRIMARY QUERY
SELECT * FROM accounts WHERE id = 1 FOR UPDATE
@ PRIMARY QUERY
SELECT * FROM accounts WHERE id = 1 FOR NO KEY UPDATE NOWAIT
@ PRIMARY QUERY
SELECT * FROM accounts WHERE id = 1 FOR SHARE
@ PRIMARY QUERY
SELECT * FROM accounts WHERE id = 1 FOR KEY SHARE OF accounts SKIP LOCKED
@ PRIMARY QUERY
select * from jobs where state = 'ready' order by id limit 10 for update skip locked
@ PRIMARY QUERY
(SELECT * FROM t FOR UPDATE)
@ PRIMARY QUERY
SELECT * INTO new_table FROM t
@ PRIMARY QUERY
SELECT a, b INTO TEMP TABLE tmp FROM t
@ PRIMARY QUERY
SELECT * INTO UNLOGGED x FROM t WHERE false

@@ ---- writer functions
@ PRIMARY QUERY
SELECT nextval('users_id_seq')
@ PRIMARY QUERY
SELECT setval('users_id_seq', 100, true)
@ PRIMARY QUERY
select NEXTVAL('"Orders_id_seq"'::regclass)
@ PRIMARY QUERY
SELECT pg_catalog.nextval('s')
@ PRIMARY QUERY
SELECT pg_catalog . nextval ( 's' )
@ PRIMARY QUERY
SELECT "nextval"('s')
@ PRIMARY QUERY
SELECT currval('s')
@ PRIMARY QUERY
SELECT lastval()
@ PRIMARY QUERY
SELECT id, nextval('s') FROM t
@ PRIMARY QUERY
VALUES (nextval('s'))
@ PRIMARY QUERY
SELECT * FROM nextval('s')
@ PRIMARY QUERY
SELECT pg_advisory_lock(42)
@ PRIMARY QUERY
SELECT pg_try_advisory_lock(1, 2)
@ PRIMARY QUERY
SELECT pg_advisory_xact_lock(hashtext('job'))
@ PRIMARY QUERY
SELECT pg_advisory_unlock_all()
@ PRIMARY QUERY
SELECT pg_try_advisory_xact_lock_shared(7)
@ PRIMARY QUERY
SELECT set_config('search_path', 'app', false)
@ PRIMARY QUERY
SELECT pg_catalog.set_config('search_path', '', false);
@ PRIMARY QUERY
SELECT set_config('a.b', 'c', $1)
@ PRIMARY QUERY
SELECT set_config('a.b', 'c', is_local)
@ PRIMARY QUERY
SELECT set_config('a.b', 'c', true::boolean)
@ PRIMARY QUERY
SELECT set_config('a.b', 'c')
@ PRIMARY QUERY
SELECT lo_import('/tmp/x')
@ PRIMARY QUERY
SELECT lo_create(0)
@ PRIMARY QUERY
SELECT lo_unlink(1234)
@ PRIMARY QUERY
SELECT lo_get(1234)
@ PRIMARY QUERY
SELECT dblink_exec('dbname=x', 'DELETE FROM t')
@ PRIMARY QUERY
SELECT * FROM dblink('dbname=x', 'SELECT 1') AS t(a int)
@ PRIMARY QUERY
SELECT pg_notify('channel', 'payload')
@ PRIMARY QUERY
SELECT txid_current()
@ PRIMARY QUERY
SELECT pg_current_xact_id()
@ PRIMARY QUERY
SELECT pg_switch_wal()
@ PRIMARY QUERY
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle'
@ PRIMARY QUERY
SELECT pg_create_logical_replication_slot('s', 'pgoutput')
@ PRIMARY QUERY
SELECT pg_reload_conf()
@ PRIMARY QUERY
SELECT pg_stat_reset()
@ PRIMARY QUERY
SELECT count(*) FROM t WHERE pg_try_advisory_lock(id)
@ PRIMARY QUERY
SELECT coalesce(max(id), nextval('s')) FROM t
@ PRIMARY QUERY
SELECT 1 OPERATOR(pg_catalog.+) nextval('s')
@ PRIMARY QUERY
SELECT * FROM t AS nextval(a)

@@ ---- unknown (user) functions
@ PRIMARY QUERY unknown=my_func
SELECT my_func(1)
@ PRIMARY QUERY unknown=app.calc_total
SELECT app.calc_total(o.id) FROM orders o
@ PRIMARY QUERY unknown=Weird
SELECT "Weird"(1)
@ PRIMARY QUERY unknown=f,g
SELECT f(1), g(f(2)), f(3)
@ PRIMARY QUERY unknown=uuid_generate_v4
SELECT uuid_generate_v4()
@ PRIMARY QUERY unknown=st_distance,st_makepoint
SELECT ST_Distance(geom, ST_MakePoint($1, $2)) FROM places
@ PRIMARY QUERY unknown=public.count
SELECT public.count(x) FROM t
@ PRIMARY QUERY unknown=my_report
WITH r AS (SELECT * FROM my_report($1)) SELECT * FROM r
@ PRIMARY QUERY unknown=f
SELECT 1 OPERATOR(pg_catalog.+) f(2)
@ STANDBY QUERY
SELECT * FROM generate_series(1, 2) value(v)
@ PRIMARY QUERY unknown=value
SELECT * FROM t, value(1)
@ PRIMARY QUERY
SELECT my_func(1) FROM t FOR UPDATE
@ PRIMARY QUERY
SELECT my_func(1), nextval('s')
@ PRIMARY QUERY unknown=f,g
SELECT f(); SELECT g()
@ PRIMARY QUERY
SELECT f(); DELETE FROM t

@@ ---- EXPLAIN
@ STANDBY QUERY
EXPLAIN SELECT * FROM t
@ STANDBY QUERY
EXPLAIN ANALYZE SELECT * FROM t WHERE id = 1
@ STANDBY QUERY
EXPLAIN ANALYSE VERBOSE SELECT 1
@ STANDBY QUERY
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM t
@ STANDBY QUERY
EXPLAIN (SELECT 1)
@ STANDBY QUERY
EXPLAIN (costs off) WITH x AS (SELECT 1) SELECT * FROM x
@ PRIMARY QUERY
EXPLAIN ANALYZE DELETE FROM t
@ PRIMARY QUERY
EXPLAIN (ANALYZE true) UPDATE t SET a = 1
@ PRIMARY QUERY
EXPLAIN ANALYZE SELECT nextval('s')
@ PRIMARY QUERY
EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1
@ PRIMARY QUERY
EXPLAIN ANALYZE SELECT * INTO x FROM t
@ PRIMARY QUERY
EXPLAIN EXECUTE stmt(1)
@ PRIMARY QUERY
EXPLAIN INSERT INTO t VALUES (1)
@ PRIMARY QUERY unknown=f
EXPLAIN ANALYZE SELECT f(1)
@ PRIMARY QUERY
EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE

@@ ---- COPY
@ STANDBY QUERY
COPY users TO STDOUT
@ STANDBY QUERY
COPY public.users (id, email) TO STDOUT WITH (FORMAT csv, HEADER true)
@ STANDBY QUERY
COPY (SELECT * FROM users WHERE active) TO STDOUT (FORMAT binary)
@ PRIMARY QUERY
COPY users FROM STDIN
@ PRIMARY QUERY
COPY users (id, email) FROM STDIN WITH (FORMAT csv)
@ PRIMARY QUERY
COPY users TO '/tmp/users.csv'
@ PRIMARY QUERY
COPY users TO PROGRAM 'gzip > /tmp/u.gz'
@ PRIMARY QUERY
COPY (DELETE FROM users RETURNING *) TO STDOUT
@ PRIMARY QUERY
COPY (SELECT nextval('s')) TO STDOUT
@ PRIMARY QUERY unknown=f
COPY (SELECT f()) TO STDOUT

@@ ---- writes, DDL, utility
@ PRIMARY QUERY
INSERT INTO users (email) VALUES ('a@b.c') RETURNING id
@ PRIMARY QUERY
UPDATE users SET name = 'x' WHERE id = 1
@ PRIMARY QUERY
DELETE FROM sessions WHERE expires_at < now()
@ PRIMARY QUERY
MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)
@ PRIMARY QUERY
TRUNCATE t
@ PRIMARY QUERY
CREATE TABLE t (id serial PRIMARY KEY, name text)
@ PRIMARY QUERY
CREATE TABLE t2 AS SELECT * FROM t
@ PRIMARY QUERY
CREATE INDEX CONCURRENTLY idx ON t (name)
@ PRIMARY QUERY
ALTER TABLE t ADD COLUMN x int
@ PRIMARY QUERY
DROP TABLE IF EXISTS t CASCADE
@ PRIMARY QUERY
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$
@ PRIMARY QUERY
CREATE OR REPLACE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a + b; END
@ PRIMARY QUERY
CREATE PROCEDURE p() LANGUAGE plpgsql AS $proc$ BEGIN DELETE FROM t; END $proc$
@ PRIMARY QUERY
CREATE VIEW v AS SELECT 1
@ PRIMARY QUERY
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t
@ PRIMARY QUERY
REFRESH MATERIALIZED VIEW CONCURRENTLY mv
@ PRIMARY QUERY
DO $$ BEGIN PERFORM 1; END $$
@ PRIMARY QUERY
DO LANGUAGE plpgsql $do$ BEGIN RAISE NOTICE 'select'; END $do$
@ PRIMARY QUERY
CALL my_proc(1, 'x')
@ PRIMARY QUERY
LOCK TABLE t IN ACCESS EXCLUSIVE MODE
@ PRIMARY QUERY
VACUUM (VERBOSE, ANALYZE) t
@ PRIMARY QUERY
ANALYZE t
@ PRIMARY QUERY
CLUSTER t USING idx
@ PRIMARY QUERY
REINDEX TABLE t
@ PRIMARY QUERY
CHECKPOINT
@ PRIMARY QUERY
GRANT SELECT ON t TO reader
@ PRIMARY QUERY
COMMENT ON TABLE t IS 'select only'
@ PRIMARY QUERY
LISTEN events
@ PRIMARY QUERY
NOTIFY events, 'hello'
@ PRIMARY QUERY
UNLISTEN *
@ PRIMARY QUERY
DISCARD ALL
@ PRIMARY QUERY
RESET ALL
@ PRIMARY QUERY
RESET search_path
@ PRIMARY QUERY
SET search_path TO app, public
@ PRIMARY QUERY
SET statement_timeout = '5s'
@ PRIMARY QUERY
SET LOCAL statement_timeout = 1000
@ PRIMARY QUERY
SET TIME ZONE 'UTC'
@ PRIMARY QUERY
SET SESSION AUTHORIZATION bob
@ PRIMARY QUERY
SET ROLE admin
@ PRIMARY QUERY
PREPARE q(int) AS SELECT * FROM t WHERE id = $1
@ PRIMARY QUERY
EXECUTE q(1)
@ PRIMARY QUERY
DEALLOCATE ALL
@ PRIMARY QUERY
DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t
@ PRIMARY QUERY
FETCH 100 FROM c
@ PRIMARY QUERY
CLOSE c
@ PRIMARY QUERY
SAVEPOINT sp1
@ PRIMARY QUERY
RELEASE SAVEPOINT sp1
@ PRIMARY QUERY
ROLLBACK TO SAVEPOINT sp1
@ PRIMARY QUERY
ROLLBACK TO sp1
@ PRIMARY QUERY
PREPARE TRANSACTION 'tx1'
@ PRIMARY QUERY
COMMIT PREPARED 'tx1'
@ PRIMARY QUERY
ROLLBACK PREPARED 'tx1'
@ PRIMARY QUERY
SECURITY LABEL ON TABLE t IS 'x'
@ PRIMARY QUERY
IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO local
@ PRIMARY QUERY
SELECT 1; INSERT INTO t VALUES (1)
@ PRIMARY QUERY
INSERT INTO t VALUES (1); SELECT 1
@ PRIMARY QUERY
SELECT 1; UPDATE t SET a = 'x;y' WHERE b = $$;$$
@ PRIMARY QUERY
SELECT 1; BEGIN
@ PRIMARY QUERY
BEGIN; SELECT 1; COMMIT
@ PRIMARY QUERY
BEGIN READ ONLY; SELECT 1; COMMIT;
@ PRIMARY QUERY
SELECT 1; SET pgrelay.role = standby

@@ ---- strings and comments hiding keywords in writes
@ PRIMARY QUERY
UPDATE t SET note = 'SELECT 1' WHERE id = 1
@ PRIMARY QUERY
/* SELECT */ DELETE FROM t
@ PRIMARY QUERY
-- SELECT 1
DELETE FROM t
@ PRIMARY QUERY
/* nested /* SELECT */ still */ INSERT INTO t VALUES (1)
@ PRIMARY QUERY
INSERT INTO t VALUES ($$ SELECT $$, 'SELECT; SELECT')
@ PRIMARY QUERY
SELECT 'x' /* ; */ ; DELETE FROM t -- ;

@@ ---- lexing failures go to the primary
@ PRIMARY QUERY
SELECT 'unterminated
@ PRIMARY QUERY
SELECT "unterminated
@ PRIMARY QUERY
SELECT $$ unterminated
@ PRIMARY QUERY
SELECT 1 /* unterminated /* nested */
@ PRIMARY QUERY
SELECT (1
@ PRIMARY QUERY
SELECT 1)
@ PRIMARY QUERY
SELECT $tag$ x $other$
@ PRIMARY QUERY
SELECT 1 \ 2
@ PRIMARY QUERY
SELECT (1; DELETE FROM t)
@ PRIMARY QUERY
SELECT E'unterminated \'
@ PRIMARY QUERY
SELECT 'C:\'; DELETE FROM t; SELECT '\'
@ PRIMARY QUERY

@ PRIMARY QUERY
-- only a comment
@ PRIMARY QUERY
;

@@ ---- transactions
@ PRIMARY BEGIN
BEGIN
@ PRIMARY BEGIN
begin;
@ PRIMARY BEGIN
BEGIN WORK
@ PRIMARY BEGIN
BEGIN TRANSACTION
@ PRIMARY BEGIN
START TRANSACTION
@ PRIMARY BEGIN
BEGIN ISOLATION LEVEL REPEATABLE READ
@ PRIMARY BEGIN
BEGIN READ WRITE
@ PRIMARY BEGIN
START TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE
@ PRIMARY BEGIN
BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE
@ PRIMARY BEGIN
BEGIN READ ONLY, READ WRITE
@ PRIMARY BEGIN
BEGIN TRANSACTION SOMETHING ODD
@ STANDBY BEGIN_READ_ONLY
BEGIN READ ONLY
@ STANDBY BEGIN_READ_ONLY
begin transaction read only
@ STANDBY BEGIN_READ_ONLY
START TRANSACTION READ ONLY
@ STANDBY BEGIN_READ_ONLY
START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY
@ STANDBY BEGIN_READ_ONLY
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY NOT DEFERRABLE
@ STANDBY BEGIN_READ_ONLY
BEGIN WORK READ ONLY DEFERRABLE;
@ STANDBY SET_TRANSACTION_READ_ONLY
SET TRANSACTION READ ONLY
@ STANDBY SET_TRANSACTION_READ_ONLY
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY
@ PRIMARY QUERY
SET TRANSACTION READ WRITE
@ PRIMARY QUERY
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
@ PRIMARY QUERY
SET TRANSACTION SNAPSHOT '00000003-0000001B-1'
@ PRIMARY SET_DEFAULT_READ_ONLY_ON
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY
@ PRIMARY SET_DEFAULT_READ_ONLY_OFF
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE
@ PRIMARY SET_DEFAULT_READ_ONLY_ON
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY
@ PRIMARY QUERY
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ
@ PRIMARY SET_DEFAULT_READ_ONLY_ON
SET default_transaction_read_only = on
@ PRIMARY SET_DEFAULT_READ_ONLY_ON
set default_transaction_read_only to 'true'
@ PRIMARY SET_DEFAULT_READ_ONLY_ON
SET SESSION default_transaction_read_only TO 1
@ PRIMARY SET_DEFAULT_READ_ONLY_ON
SET default_transaction_read_only = yes;
@ PRIMARY SET_DEFAULT_READ_ONLY_OFF
SET default_transaction_read_only = off
@ PRIMARY SET_DEFAULT_READ_ONLY_OFF
SET default_transaction_read_only TO false
@ PRIMARY SET_DEFAULT_READ_ONLY_OFF
SET default_transaction_read_only = '0'
@ PRIMARY QUERY
SET LOCAL default_transaction_read_only = on
@ PRIMARY QUERY
SET default_transaction_read_only = maybe
@ PRIMARY QUERY
SET default_transaction_read_only TO DEFAULT
@ PRIMARY END
COMMIT
@ PRIMARY END
commit;
@ PRIMARY END
COMMIT WORK
@ PRIMARY END
END
@ PRIMARY END
END TRANSACTION
@ PRIMARY END
ROLLBACK
@ PRIMARY END
ABORT
@ PRIMARY END
COMMIT AND NO CHAIN
@ PRIMARY QUERY
COMMIT AND CHAIN
@ PRIMARY QUERY
ROLLBACK AND CHAIN

@@ ---- routing hints
@ STANDBY QUERY hint=PRIMARY
/* pgrelay: primary */ SELECT 1
@ STANDBY QUERY hint=STANDBY
/*pgrelay:standby*/SELECT * FROM t
@ STANDBY QUERY hint=STANDBY
/*  PgRelay :  Standby  */ SELECT 1
@ STANDBY QUERY hint=AUTO
/* pgrelay: auto */ SELECT 1
@ PRIMARY QUERY hint=STANDBY
/* pgrelay: standby */ UPDATE t SET a = 1
@ STANDBY QUERY hint=PRIMARY
-- pgrelay: primary
SELECT 1
@ STANDBY QUERY hint=STANDBY
/* app comment */ /* pgrelay: standby */ SELECT 1
@ STANDBY QUERY
SELECT 1 /* pgrelay: primary */
@ STANDBY QUERY
SELECT /* pgrelay: primary */ 1
@ STANDBY QUERY
/* pgrelay: nonsense */ SELECT 1
@ STANDBY QUERY
/* pgrelay: primary, please */ SELECT 1
@ STANDBY QUERY
/* not pgrelay: primary */ SELECT 1
@ PRIMARY BEGIN hint=STANDBY
/* pgrelay: standby */ BEGIN
@ PRIMARY QUERY hint=PRIMARY unknown=f
/* pgrelay: primary */ SELECT f()
@ PRIMARY SET_ROLE_HINT hint=PRIMARY
SET pgrelay.role = primary
@ PRIMARY SET_ROLE_HINT hint=STANDBY
SET pgrelay.role TO 'standby'
@ PRIMARY SET_ROLE_HINT hint=AUTO
set PGRELAY.ROLE to Auto
@ PRIMARY SET_ROLE_HINT hint=STANDBY
SET SESSION pgrelay.role = "standby";
@ PRIMARY SET_ROLE_HINT hint=AUTO
SET pgrelay.role TO DEFAULT
@ PRIMARY SET_ROLE_HINT hint=NONE
SET pgrelay.role = 'sideways'
@ PRIMARY SET_ROLE_HINT hint=NONE
SET pgrelay.role = primary, standby
@ PRIMARY SET_ROLE_HINT hint=AUTO
RESET pgrelay.role
@ PRIMARY QUERY
SET LOCAL pgrelay.role = standby
@ PRIMARY SET_ROLE_HINT hint=PRIMARY
SET SERVER ROLE TO 'primary'
@ PRIMARY SET_ROLE_HINT hint=STANDBY
SET SERVER ROLE TO 'replica'
@ PRIMARY SET_ROLE_HINT hint=AUTO
SET SERVER ROLE TO 'any'
@ PRIMARY SET_ROLE_HINT hint=AUTO
SET SERVER ROLE TO 'auto'
@ PRIMARY SET_ROLE_HINT hint=AUTO
set server role to 'default'
@ PRIMARY SET_ROLE_HINT hint=STANDBY
SET SERVER ROLE = replica
@ PRIMARY SHOW_ROLE_HINT
SHOW pgrelay.role
@ PRIMARY SHOW_ROLE_HINT
show PgRelay.Role;
@ PRIMARY SHOW_ROLE_HINT
SHOW SERVER ROLE
@ PRIMARY SHOW_ROLE_HINT hint=STANDBY
/* pgrelay: standby */ SHOW pgrelay.role

@@ ---- Hibernate-style
@ STANDBY QUERY
select u1_0.id,u1_0.created_at,u1_0.email,u1_0.name from users u1_0 where u1_0.email=?
@ STANDBY QUERY
select o1_0.id,o1_0.customer_id,o1_0.status,o1_0.total from orders o1_0 join customers c1_0 on c1_0.id=o1_0.customer_id where c1_0.country=$1 order by o1_0.id desc offset $2 rows fetch first $3 rows only
@ STANDBY QUERY
select count(*) from orders o1_0 where o1_0.status in ($1,$2,$3)
@ PRIMARY QUERY
select nextval('orders_seq')
@ PRIMARY QUERY
insert into orders (customer_id,status,total,id) values ($1,$2,$3,$4)
@ PRIMARY QUERY
update orders set status=$1,total=$2 where id=$3
@ PRIMARY QUERY
delete from orders where id=$1
@ PRIMARY QUERY
select a1_0.id,a1_0.balance from accounts a1_0 where a1_0.id=$1 for no key update
@ PRIMARY QUERY
select a1_0.id,a1_0.balance from accounts a1_0 where a1_0.id=$1 for update of a1_0 nowait
@ STANDBY QUERY
select p1_0.id,p1_0.name,t1_0.post_id,t1_0.tag from posts p1_0 left join post_tags t1_0 on p1_0.id=t1_0.post_id where p1_0.id=any($1)
@ STANDBY QUERY
select case when exists(select 1 from users u1_0 where u1_0.email=$1) then 1 else 0 end
@ STANDBY QUERY
select cast(o1_0.total as numeric(38,2)),extract(year from o1_0.created_at) from orders o1_0
@ STANDBY QUERY
/* load com.example.Order */ select o1_0.id from orders o1_0 where o1_0.id=$1
@ STANDBY QUERY
select this_.id as id1_0_0_, this_.name as name2_0_0_ from product this_ where lower(this_.name) like $1 limit $2

@@ ---- Django-style
@ STANDBY QUERY
SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username" FROM "auth_user" WHERE "auth_user"."username" = 'admin' LIMIT 21
@ STANDBY QUERY
SELECT COUNT(*) AS "__count" FROM "blog_post" WHERE ("blog_post"."published" AND "blog_post"."author_id" = 3)
@ STANDBY QUERY
SELECT "blog_post"."id", "blog_post"."title" FROM "blog_post" INNER JOIN "blog_post_tags" ON ("blog_post"."id" = "blog_post_tags"."post_id") WHERE "blog_post_tags"."tag_id" IN (1, 2, 3) ORDER BY "blog_post"."created" DESC
@ STANDBY QUERY
SELECT (1) AS "a" FROM "django_session" WHERE "django_session"."session_key" = 'abc' LIMIT 1
@ STANDBY QUERY
SELECT "django_migrations"."id", "django_migrations"."app", "django_migrations"."name", "django_migrations"."applied" FROM "django_migrations"
@ STANDBY QUERY
SELECT DATE_TRUNC('month', "shop_order"."created" AT TIME ZONE 'UTC') AS "month", SUM("shop_order"."total") AS "total" FROM "shop_order" GROUP BY 1 ORDER BY 1 ASC
@ STANDBY QUERY
SELECT "shop_item"."id", COALESCE("shop_item"."discount", 0) AS "d" FROM "shop_item" WHERE UPPER("shop_item"."sku"::text) LIKE UPPER('%ab%')
@ PRIMARY QUERY
INSERT INTO "django_session" ("session_key", "session_data", "expire_date") VALUES ('k', 'd', '2030-01-01'::timestamp)
@ PRIMARY QUERY
UPDATE "auth_user" SET "last_login" = '2024-01-01T00:00:00'::timestamptz WHERE "auth_user"."id" = 1
@ PRIMARY QUERY
SELECT "shop_stock"."id", "shop_stock"."qty" FROM "shop_stock" WHERE "shop_stock"."id" = 5 LIMIT 21 FOR UPDATE
@ PRIMARY QUERY
DELETE FROM "django_session" WHERE "django_session"."expire_date" < '2024-01-01'::timestamptz
@ PRIMARY QUERY
SAVEPOINT "s140_x1"
@ PRIMARY QUERY
RELEASE SAVEPOINT "s140_x1"
@ STANDBY QUERY
SELECT "app_doc"."id" FROM "app_doc" WHERE "app_doc"."data" -> 'tags' @> '["x"]'::jsonb

@@ ---- psql \d and friends, JDBC metadata
@ STANDBY QUERY
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;
@ STANDBY QUERY
SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(users)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;
@ STANDBY QUERY
SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '16384' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;
@ STANDBY QUERY
SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges"
FROM pg_catalog.pg_database d
ORDER BY 1;
@ STANDBY QUERY
SELECT pubname
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='16384' and pg_catalog.pg_relation_is_publishable('16384')
UNION
SELECT pubname
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('16384')
ORDER BY 1;
@ STANDBY QUERY
SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   ELSE NULL   END  ELSE NULL  END  ELSE CASE c.relkind   WHEN 'r' THEN 'TABLE'   ELSE NULL   END  END  AS TABLE_TYPE, d.description AS REMARKS  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid  AND c.relname LIKE 'users' ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME
@ STANDBY QUERY
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid FROM pg_catalog.pg_type LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r from pg_namespace as ns join ( select s.r, (current_schemas(false))[s.r] as nspname from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r using ( nspname ) ) as sp ON sp.nspoid = typnamespace WHERE pg_type.oid = $1 ORDER BY sp.r, pg_type.oid DESC
@ STANDBY QUERY
SELECT t.typname, t.oid FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON (t.typnamespace = n.oid) WHERE n.nspname != 'pg_toast' AND (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid))
@ STANDBY QUERY
SELECT current_database(), current_schema(), current_user, session_user, inet_server_port()
@ STANDBY QUERY
SELECT setting FROM pg_settings WHERE name = 'max_connections'
@ STANDBY QUERY
SELECT pid, usename, application_name, client_addr, state, query FROM pg_stat_activity WHERE pid <> pg_backend_pid()
@ STANDBY QUERY
SELECT pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp(), pg_is_in_recovery()
@ STANDBY QUERY
SELECT schemaname, relname, n_live_tup FROM pg_stat_user_tables ORDER BY n_live_tup DESC LIMIT 10

@@ ---- odd spacing and formatting
@ STANDBY QUERY
   SELECT
     1
@ STANDBY QUERY
	select	*	from	t	where	a=1
@ STANDBY QUERY
SELECT(1)
@ STANDBY QUERY
SELECT*FROM t WHERE(a)=(1)
@ PRIMARY QUERY
DELETE/**/FROM t
@ PRIMARY QUERY
SELECT*FROM t FOR/**/UPDATE
@ PRIMARY QUERY
SELECT pg_advisory_lock/**/(1)
@ STANDBY QUERY
SELECT 1::int8, '2'::int4, (3)::text, ARRAY[1,2]::int[]
@ STANDBY QUERY
SELECT a[1:2], b[1], c[array_upper(c, 1)] FROM t
@ STANDBY QUERY
SELECT int4(x), int8(y), float8(z), bool(w) FROM t
@ PRIMARY QUERY
SELECT a$b, c FROM t; CREATE TABLE d$(x int)
@ STANDBY QUERY
SELECT café, "naïve" FROM données WHERE ünïcode = 'ß'
@ STANDBY QUERY
SELECT 'ünïcode -- not a comment', 'emoji 😀 /*' FROM t
@ PRIMARY QUERY unknown=förmel
SELECT förmel(1)
@ STANDBY QUERY
SELECT $1::text || $2::text, $10

@@ ---- plain strings with a backslash: with standard_conforming_strings = off they lex differently; both readings
@@ must agree for a standby
@ STANDBY QUERY
SELECT a FROM t WHERE path LIKE 'C:\\temp%'
@ PRIMARY QUERY
SELECT * FROM t WHERE name LIKE 'abc%' ESCAPE '\' OR name ILIKE ANY (ARRAY['a%', 'b%'])
@ PRIMARY QUERY
SELECT U&'d\0061t' UESCAPE '\', U&"d\0061t" FROM t
@ PRIMARY QUERY
SELECT '\'; DELETE FROM t; SELECT '\'
@ PRIMARY QUERY
SELECT 'a\', nextval('s'), 'b'
