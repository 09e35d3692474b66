-- Lights-out scoring in PostgreSQL (docs/postgresql.md, issue 24): a trigger keeps
-- crm.customer_scores current on every insert into crm.orders, and writes a row into
-- crm.alerts when one of crm.alert_rules starts to fire for a customer.
--
--   CREATE EXTENSION churn;                       -- once per database
--   \i docs/examples/postgresql_trigger.sql
--   INSERT INTO crm.models VALUES ('bgnbd', pg_read_file(...)::jsonb), ...   -- or from psql:
--   \set m `cat bgnbd.json`   INSERT INTO crm.models VALUES ('bgnbd', :'m');
--
-- The models are model files of `churn fit` (BG/NBD or Pareto/NBD named 'bgnbd', and
-- Gamma-Gamma named 'gammagamma'), fitted in weeks: the summary below uses unit 'week'
-- and churn.p_alive refuses a model of another unit. Each insert re-reads the
-- customer's own orders (an index on customer_id keeps that to their few rows) and
-- scores them as of the customer's latest order.
CREATE SCHEMA IF NOT EXISTS crm;

CREATE TABLE crm.orders (
    order_id    bigserial PRIMARY KEY,
    customer_id text NOT NULL,
    ordered_at  date NOT NULL,
    amount      numeric NOT NULL);
CREATE INDEX ON crm.orders (customer_id);

CREATE TABLE crm.models (name text PRIMARY KEY, model jsonb NOT NULL);

CREATE TABLE crm.alert_rules (rule text PRIMARY KEY);
INSERT INTO crm.alert_rules VALUES
    ('valuable: clv > 100'),              -- worth a personal thank-you
    ('at_risk: value_at_risk > 20'),      -- value walking out of the door
    ('overdue: overdue_ratio > 2');       -- twice their own rhythm since the last order

CREATE TABLE crm.customer_scores (
    customer_id        text PRIMARY KEY,
    as_of              date NOT NULL,
    frequency          float8, recency float8, t float8, monetary_value float8,
    p_alive            float8,
    expected_purchases float8,
    expected_spend     float8,
    clv                float8,
    value_at_risk      float8,
    alerts             text[] NOT NULL DEFAULT '{}');

CREATE TABLE crm.alerts (
    alert_id    bigserial PRIMARY KEY,
    customer_id text NOT NULL,
    rule        text NOT NULL,
    raised_at   timestamptz NOT NULL DEFAULT now(),
    as_of       date NOT NULL,
    clv         float8,
    p_alive     float8);

CREATE FUNCTION crm.rescore_customer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c      churn.customer;
    sc     churn.scores;
    b      jsonb := (SELECT model FROM crm.models WHERE name = 'bgnbd');
    g      jsonb := (SELECT model FROM crm.models WHERE name = 'gammagamma');
    fired  text[];
    before text[];
    latest date;
BEGIN
    IF b IS NULL OR g IS NULL THEN
        RETURN NULL;                      -- no models yet: nothing to score
    END IF;
    SELECT max(o.ordered_at) INTO latest FROM crm.orders o WHERE o.customer_id = NEW.customer_id;
    c := (SELECT churn.summary(o.ordered_at, o.amount, latest, 'week')
          FROM crm.orders o WHERE o.customer_id = NEW.customer_id);
    IF c IS NULL THEN
        RETURN NULL;                      -- refunds only: not a customer yet
    END IF;
    sc := churn.score(b, g, c);           -- 12 monthly periods, 1% a month
    fired := churn.alerts(ARRAY(SELECT rule FROM crm.alert_rules ORDER BY rule), c, sc);
    SELECT s.alerts INTO before FROM crm.customer_scores s WHERE s.customer_id = NEW.customer_id;
    INSERT INTO crm.customer_scores AS s VALUES
        (NEW.customer_id, c.cutoff, c.frequency, c.recency, c.t, c.monetary_value,
         sc.p_alive, sc.expected_purchases, sc.expected_spend, sc.clv, sc.value_at_risk, fired)
    ON CONFLICT (customer_id) DO UPDATE SET
        as_of = EXCLUDED.as_of, frequency = EXCLUDED.frequency, recency = EXCLUDED.recency,
        t = EXCLUDED.t, monetary_value = EXCLUDED.monetary_value, p_alive = EXCLUDED.p_alive,
        expected_purchases = EXCLUDED.expected_purchases,
        expected_spend = EXCLUDED.expected_spend, clv = EXCLUDED.clv,
        value_at_risk = EXCLUDED.value_at_risk, alerts = EXCLUDED.alerts;
    -- a rule that starts to fire raises one alert (not one per order while it holds)
    INSERT INTO crm.alerts (customer_id, rule, as_of, clv, p_alive)
        SELECT NEW.customer_id, r, c.cutoff, sc.clv, sc.p_alive
        FROM unnest(fired) r WHERE NOT r = ANY (coalesce(before, '{}'));
    RETURN NULL;
END $$;

CREATE TRIGGER rescore AFTER INSERT ON crm.orders
    FOR EACH ROW EXECUTE FUNCTION crm.rescore_customer();
