-- churn extension 1.0: the customer table as an aggregate and the scores of libchurn
-- as SQL functions. Reference: docs/postgresql.md. Everything lives in schema churn.
\echo Use "CREATE EXTENSION churn" to load this file. \quit

-- One customer's columns as of a cutoff, as `churn features` writes them (the one-pass
-- columns of the incremental state, include/churn/customers.h), then the declarations
-- that travel with them: the time unit in days and the cutoff day.
CREATE TYPE churn.customer AS (
    frequency float8, recency float8, t float8, monetary_value float8,
    n_orders float8, total_spend float8, mean_order_value float8,
    first_purchase float8, last_purchase float8, time_since_last float8,
    gap_mean float8, gap_std float8, overdue_ratio float8,
    n_returns float8, returns_amount float8, net_spend float8,
    time_unit_days float8, cutoff date);

-- A customer's value scores (churn_clv_score, include/churn/spend.h).
CREATE TYPE churn.scores AS (
    p_alive float8, p_churn float8, expected_purchases float8, expected_spend float8,
    clv float8, value_at_risk float8);

CREATE FUNCTION churn.version() RETURNS text
    AS 'MODULE_PATHNAME', 'churn_pg_version' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION churn._summary_trans(internal, date, float8, date, text) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_trans_date' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_trans(internal, date, float8, date) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_trans_date' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_trans(internal, timestamp, float8, timestamp, text) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_trans_ts' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_trans(internal, timestamp, float8, timestamp) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_trans_ts' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_trans(internal, timestamptz, float8, timestamptz, text) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_trans_ts' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_trans(internal, timestamptz, float8, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_trans_ts' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_final(internal) RETURNS churn.customer
    AS 'MODULE_PATHNAME', 'churn_summary_final' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_combine' LANGUAGE C CALLED ON NULL INPUT PARALLEL SAFE;
CREATE FUNCTION churn._summary_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'churn_summary_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION churn._summary_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_summary_deserialize' LANGUAGE C STRICT PARALLEL SAFE;

-- churn.summary(ordered_at, amount, cutoff [, unit]): one customer's row of the customer
-- table from their orders (GROUP BY customer_id). ordered_at and cutoff: date, timestamp
-- (read as UTC) or timestamptz; amount: float8 (numeric and integers cast implicitly;
-- NULL = unknown amount, negative = refund); unit: day (default), week, month, quarter,
-- year or a number of days. NULL for a customer without an order on or before the cutoff.
CREATE AGGREGATE churn.summary(ordered_at date, amount float8, cutoff date, unit text) (
    SFUNC = churn._summary_trans, STYPE = internal, FINALFUNC = churn._summary_final,
    COMBINEFUNC = churn._summary_combine, SERIALFUNC = churn._summary_serialize,
    DESERIALFUNC = churn._summary_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE churn.summary(ordered_at date, amount float8, cutoff date) (
    SFUNC = churn._summary_trans, STYPE = internal, FINALFUNC = churn._summary_final,
    COMBINEFUNC = churn._summary_combine, SERIALFUNC = churn._summary_serialize,
    DESERIALFUNC = churn._summary_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE churn.summary(ordered_at timestamp, amount float8, cutoff timestamp, unit text) (
    SFUNC = churn._summary_trans, STYPE = internal, FINALFUNC = churn._summary_final,
    COMBINEFUNC = churn._summary_combine, SERIALFUNC = churn._summary_serialize,
    DESERIALFUNC = churn._summary_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE churn.summary(ordered_at timestamp, amount float8, cutoff timestamp) (
    SFUNC = churn._summary_trans, STYPE = internal, FINALFUNC = churn._summary_final,
    COMBINEFUNC = churn._summary_combine, SERIALFUNC = churn._summary_serialize,
    DESERIALFUNC = churn._summary_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE churn.summary(ordered_at timestamptz, amount float8, cutoff timestamptz, unit text) (
    SFUNC = churn._summary_trans, STYPE = internal, FINALFUNC = churn._summary_final,
    COMBINEFUNC = churn._summary_combine, SERIALFUNC = churn._summary_serialize,
    DESERIALFUNC = churn._summary_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE churn.summary(ordered_at timestamptz, amount float8, cutoff timestamptz) (
    SFUNC = churn._summary_trans, STYPE = internal, FINALFUNC = churn._summary_final,
    COMBINEFUNC = churn._summary_combine, SERIALFUNC = churn._summary_serialize,
    DESERIALFUNC = churn._summary_deserialize, PARALLEL = SAFE);

-- Scores. A model argument is a model file's JSON (jsonb); each backend parses a
-- model once (cached by content). Over (frequency, recency, t) the caller answers for
-- the time unit; over churn.customer the model's unit is checked against the row's.
CREATE FUNCTION churn.model_family(model jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'churn_pg_model_family' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.p_alive(model jsonb, frequency float8, recency float8, t float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.p_alive(model jsonb, customer churn.customer) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_p_alive_c' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.expected_purchases(model jsonb, horizon float8, frequency float8, recency float8, t float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.expected_purchases(model jsonb, customer churn.customer, horizon float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_expected_purchases_c' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.expected_spend(model jsonb, frequency float8, monetary_value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_expected_spend' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.expected_spend(model jsonb, customer churn.customer) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_expected_spend_c' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.clv(btyd jsonb, spend jsonb, frequency float8, recency float8, t float8, monetary_value float8,
                          clv_periods int4 DEFAULT 12, period float8 DEFAULT 0, discount float8 DEFAULT 0.01, margin float8 DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_clv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.clv(btyd jsonb, spend jsonb, customer churn.customer,
                          clv_periods int4 DEFAULT 12, period float8 DEFAULT 0, discount float8 DEFAULT 0.01, margin float8 DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_clv_c' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.value_at_risk(btyd jsonb, spend jsonb, frequency float8, recency float8, t float8, monetary_value float8,
                          clv_periods int4 DEFAULT 12, period float8 DEFAULT 0, discount float8 DEFAULT 0.01, margin float8 DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_value_at_risk' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.value_at_risk(btyd jsonb, spend jsonb, customer churn.customer,
                          clv_periods int4 DEFAULT 12, period float8 DEFAULT 0, discount float8 DEFAULT 0.01, margin float8 DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'churn_pg_value_at_risk_c' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.score(btyd jsonb, spend jsonb, customer churn.customer,
                          clv_periods int4 DEFAULT 12, period float8 DEFAULT 0, discount float8 DEFAULT 0.01, margin float8 DEFAULT 1) RETURNS churn.scores
    AS 'MODULE_PATHNAME', 'churn_pg_score_c' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Alert rules ("[name:] field op threshold"): the names of the rules that fire.
CREATE FUNCTION churn.alerts(rules text[], customer churn.customer) RETURNS text[]
    AS 'MODULE_PATHNAME', 'churn_pg_alerts' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.alerts(rules text[], customer churn.customer, scores churn.scores) RETURNS text[]
    AS 'MODULE_PATHNAME', 'churn_pg_alerts' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn.default_alert_rules() RETURNS text[]
    AS 'MODULE_PATHNAME', 'churn_pg_default_alert_rules' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
