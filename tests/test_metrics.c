/* Evaluation metrics: against scikit-learn (tests/data/metrics_ref_*.csv, written by
 * tests/metrics_ref.py), closed forms for the tie rules, and CDNOW holdout checks
 * against ../shared/data. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#ifndef CHURN_TEST_SOURCE_DIR
#define CHURN_TEST_SOURCE_DIR "."
#endif

/* ---- reference rows and values from tests/metrics_ref.py ---------------------- */

enum { COL_SCORE, COL_PROB, COL_LABEL, COL_WEIGHT, COL_DURATION, COL_EVENT, COL_MARKER, NCOL };

typedef struct ref_case {
    size_t n;
    double *col[NCOL];
} ref_case;

/* Load the rows of one case; returns 0 on failure (test fails). */
static int load_case(const char *name, ref_case *rc)
{
    memset(rc, 0, sizeof *rc);
    FILE *f = fopen(CHURN_TEST_SOURCE_DIR "/data/metrics_ref_rows.csv", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[1024];
    size_t cap = 0;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *tok = strtok_r(line, ",\n", &save);
        if (!tok || strcmp(tok, name) != 0)
            continue;
        if (rc->n == cap) {
            cap = cap ? 2 * cap : 256;
            for (int j = 0; j < NCOL; j++)
                rc->col[j] = realloc(rc->col[j], cap * sizeof(double));
        }
        for (int j = 0; j < NCOL; j++) {
            tok = strtok_r(NULL, ",\n", &save);
            rc->col[j][rc->n] = tok ? strtod(tok, NULL) : NAN;
        }
        rc->n++;
    }
    fclose(f);
    return rc->n > 0;
}

static void free_case(ref_case *rc)
{
    for (int j = 0; j < NCOL; j++)
        free(rc->col[j]);
}

/* Reference value `metric` of `name`; NAN when absent. */
static double ref_value(const char *name, const char *metric)
{
    FILE *f = fopen(CHURN_TEST_SOURCE_DIR "/data/metrics_ref_values.csv", "r");
    if (!f)
        return NAN;
    char line[512];
    double v = NAN;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *c = strtok_r(line, ",\n", &save);
        char *m = strtok_r(NULL, ",\n", &save), *val = strtok_r(NULL, ",\n", &save);
        if (c && m && val && strcmp(c, name) == 0 && strcmp(m, metric) == 0) {
            v = strtod(val, NULL);
            break;
        }
    }
    fclose(f);
    return v;
}

/* ---- scikit-learn: roc_auc_score, log_loss, brier_score_loss -------------------- */

static void check_sklearn_case(const char *name)
{
    ref_case rc;
    CU_ASSERT_FATAL(load_case(name, &rc));
    const double *s = rc.col[COL_SCORE], *p = rc.col[COL_PROB], *y = rc.col[COL_LABEL],
                 *w = rc.col[COL_WEIGHT];
    double v;
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(rc.n, s, y, NULL, &v), CHURN_OK);
    CT_NEAR(v, ref_value(name, "roc_auc"), 1e-12);
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(rc.n, s, y, w, &v), CHURN_OK);
    CT_NEAR(v, ref_value(name, "roc_auc_w"), 1e-12);
    CU_ASSERT_EQUAL(churn_metrics_log_loss(rc.n, p, y, NULL, &v), CHURN_OK);
    CT_NEAR(v, ref_value(name, "log_loss"), 1e-12);
    CU_ASSERT_EQUAL(churn_metrics_log_loss(rc.n, p, y, w, &v), CHURN_OK);
    CT_NEAR(v, ref_value(name, "log_loss_w"), 1e-12);
    CU_ASSERT_EQUAL(churn_metrics_brier(rc.n, p, y, NULL, &v), CHURN_OK);
    CT_NEAR(v, ref_value(name, "brier"), 1e-12);
    CU_ASSERT_EQUAL(churn_metrics_brier(rc.n, p, y, w, &v), CHURN_OK);
    CT_NEAR(v, ref_value(name, "brier_w"), 1e-12);
    free_case(&rc);
}

static void test_sklearn_random(void) { check_sklearn_case("random"); }
static void test_sklearn_tied(void) { check_sklearn_case("tied"); }

static void test_sklearn_all_equal(void)
{
    check_sklearn_case("equal");
    /* and the closed form: all-equal scores give exactly 0.5 */
    double s[4] = {2, 2, 2, 2}, y[4] = {1, 0, 0, 1}, auc = 0;
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, s, y, NULL, &auc), CHURN_OK);
    CU_ASSERT_EQUAL(auc, 0.5);
}

/* ---- calibration_curve(strategy="uniform") --------------------------------------- */

static void check_calibration(const char *name, size_t nbins)
{
    ref_case rc;
    CU_ASSERT_FATAL(load_case(name, &rc));
    double lo[16], hi[16], bw[16], mp[16], ob[16], ece;
    CU_ASSERT_EQUAL_FATAL(churn_metrics_calibration(rc.n, rc.col[COL_PROB], rc.col[COL_LABEL],
                                                    NULL, nbins, CHURN_CALIBRATION_UNIFORM, lo,
                                                    hi, bw, mp, ob, &ece),
                          CHURN_OK);
    for (size_t b = 0; b < nbins; b++) {
        char key[64];
        snprintf(key, sizeof key, "cal%zu_count_%zu", nbins, b);
        double cnt = ref_value(name, key);
        CU_ASSERT_EQUAL(bw[b], cnt);
        CT_NEAR(lo[b], (double)b / (double)nbins, 1e-15);
        CT_NEAR(hi[b], (double)(b + 1) / (double)nbins, 1e-15);
        if (cnt > 0) {
            snprintf(key, sizeof key, "cal%zu_pred_%zu", nbins, b);
            CT_NEAR(mp[b], ref_value(name, key), 1e-12);
            snprintf(key, sizeof key, "cal%zu_true_%zu", nbins, b);
            CT_NEAR(ob[b], ref_value(name, key), 1e-12);
        } else {
            CU_ASSERT(isnan(mp[b]) && isnan(ob[b]));
        }
    }
    char key[32];
    snprintf(key, sizeof key, "ece%zu", nbins);
    CT_NEAR(ece, ref_value(name, key), 1e-12);
    free_case(&rc);
}

static void test_calibration_uniform(void)
{
    check_calibration("random", 10);
    check_calibration("tied", 10);
    check_calibration("tied", 7);
}

/* Quantile bins, ties split in proportion (closed form): p = .1 .2 .2 .9, y = 0 0 1 1,
 * two bins: {.1, half of the .2 pair} and {the other half, .9}. */
static void test_calibration_quantile(void)
{
    double p[4] = {0.2, 0.9, 0.1, 0.2}, y[4] = {1, 1, 0, 0};
    double lo[2], hi[2], bw[2], mp[2], ob[2], ece;
    CU_ASSERT_EQUAL_FATAL(churn_metrics_calibration(4, p, y, NULL, 2, CHURN_CALIBRATION_QUANTILE,
                                                    lo, hi, bw, mp, ob, &ece),
                          CHURN_OK);
    CT_NEAR(bw[0], 2.0, 1e-15);
    CT_NEAR(bw[1], 2.0, 1e-15);
    CT_NEAR(mp[0], 0.15, 1e-15);
    CT_NEAR(ob[0], 0.25, 1e-15);
    CT_NEAR(mp[1], 0.55, 1e-15);
    CT_NEAR(ob[1], 0.75, 1e-15);
    CT_NEAR(lo[0], 0.1, 0);
    CT_NEAR(hi[0], 0.2, 0);
    CT_NEAR(lo[1], 0.2, 0);
    CT_NEAR(hi[1], 0.9, 0);
    CT_NEAR(ece, 0.5 * 0.1 + 0.5 * 0.2, 1e-15);
    /* weights behave as repeated rows */
    double p2[5] = {0.1, 0.2, 0.2, 0.2, 0.9}, y2[5] = {0, 1, 0, 0, 1};
    double w[4] = {1, 2, 1, 1}, pw[4] = {0.1, 0.2, 0.2, 0.9}, yw[4] = {0, 0, 1, 1}, e1, e2;
    CU_ASSERT_EQUAL(churn_metrics_calibration(5, p2, y2, NULL, 3, CHURN_CALIBRATION_QUANTILE,
                                              NULL, NULL, NULL, NULL, NULL, &e1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_metrics_calibration(4, pw, yw, w, 3, CHURN_CALIBRATION_QUANTILE, NULL,
                                              NULL, NULL, NULL, NULL, &e2), CHURN_OK);
    CT_NEAR(e1, e2, 1e-15);
}

/* ---- precision/recall at k and lift: untied case against numpy, ties by closed form ---- */

static void test_topk_lift_untied(void)
{
    ref_case rc;
    CU_ASSERT_FATAL(load_case("random", &rc));
    const double *s = rc.col[COL_SCORE], *y = rc.col[COL_LABEL];
    size_t ks[] = {1, 7, 20, 100, 200};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        double prec, rec;
        char key[32];
        CU_ASSERT_EQUAL(churn_metrics_precision_recall_at_k(rc.n, s, y, NULL, ks[i], &prec, &rec),
                        CHURN_OK);
        snprintf(key, sizeof key, "prec_at_%zu", ks[i]);
        CT_NEAR(prec, ref_value("random", key), 1e-12);
        snprintf(key, sizeof key, "recall_at_%zu", ks[i]);
        CT_NEAR(rec, ref_value("random", key), 1e-12);
    }
    double bw[10], pos[10], rate[10], lift[10], gain[10], clift[10];
    CU_ASSERT_EQUAL_FATAL(churn_metrics_lift_table(rc.n, s, y, NULL, 10, bw, pos, rate, lift,
                                                   gain, clift),
                          CHURN_OK);
    for (size_t b = 0; b < 10; b++) {
        char key[32];
        snprintf(key, sizeof key, "lift10_%zu", b);
        CT_NEAR(lift[b], ref_value("random", key), 1e-12);
        snprintf(key, sizeof key, "gain10_%zu", b);
        CT_NEAR(gain[b], ref_value("random", key), 1e-12);
        CT_NEAR(bw[b], 20.0, 1e-12);
        CT_NEAR(clift[b], gain[b] * 10.0 / (double)(b + 1), 1e-12);
    }
    free_case(&rc);
}

static void test_lift_ties(void)
{
    /* scores 3 2 2 1, labels 1 1 0 0, two bins: the tied pair straddles the boundary
     * and is split half/half: top bin holds 1 + 0.5 positives of 2 rows. */
    double s[4] = {2, 1, 3, 2}, y[4] = {0, 0, 1, 1};
    double bw[2], pos[2], rate[2], lift[2], gain[2];
    CU_ASSERT_EQUAL_FATAL(churn_metrics_lift_table(4, s, y, NULL, 2, bw, pos, rate, lift, gain,
                                                   NULL),
                          CHURN_OK);
    CT_NEAR(pos[0], 1.5, 1e-15);
    CT_NEAR(rate[0], 0.75, 1e-15);
    CT_NEAR(lift[0], 1.5, 1e-15);
    CT_NEAR(lift[1], 0.5, 1e-15);
    CT_NEAR(gain[0], 0.75, 1e-15);
    CT_NEAR(gain[1], 1.0, 0);
    /* independent of row order */
    double s2[4] = {3, 2, 2, 1}, y2[4] = {1, 0, 1, 0}, lift2[2];
    CU_ASSERT_EQUAL(churn_metrics_lift_table(4, s2, y2, NULL, 2, NULL, NULL, NULL, lift2, NULL,
                                             NULL), CHURN_OK);
    CT_NEAR(lift2[0], 1.5, 1e-15);
    /* all-equal scores: lift 1 in every bin, also with 3 bins over 4 rows */
    double e[4] = {5, 5, 5, 5}, l3[3], w3[3];
    CU_ASSERT_EQUAL(churn_metrics_lift_table(4, e, y, NULL, 3, w3, NULL, NULL, l3, NULL, NULL),
                    CHURN_OK);
    for (int b = 0; b < 3; b++) {
        CT_NEAR(l3[b], 1.0, 1e-15);
        CT_NEAR(w3[b], 4.0 / 3.0, 1e-15);
    }
    /* precision/recall at k with the tie at the boundary */
    double prec, rec;
    CU_ASSERT_EQUAL(churn_metrics_precision_recall_at_k(4, s, y, NULL, 2, &prec, &rec), CHURN_OK);
    CT_NEAR(prec, 0.75, 1e-15);
    CT_NEAR(rec, 0.75, 1e-15);
    /* integer weights = repeated rows */
    double sw[3] = {3, 2, 1}, yw[3] = {1, 1, 0}, ww[3] = {1, 2, 1};
    double sr[4] = {3, 2, 2, 1}, yr[4] = {1, 1, 1, 0}, la[2], lb[2];
    CU_ASSERT_EQUAL(churn_metrics_lift_table(3, sw, yw, ww, 2, NULL, NULL, NULL, la, NULL, NULL),
                    CHURN_OK);
    CU_ASSERT_EQUAL(churn_metrics_lift_table(4, sr, yr, NULL, 2, NULL, NULL, NULL, lb, NULL, NULL),
                    CHURN_OK);
    CT_NEAR(la[0], lb[0], 1e-15);
    CT_NEAR(la[1], lb[1], 1e-15);
}

/* ---- time-dependent AUC --------------------------------------------------------- */

static void test_time_auc(void)
{
    ref_case rc;
    CU_ASSERT_FATAL(load_case("survival", &rc));
    double hs[3] = {5, 10, 15};
    for (int i = 0; i < 3; i++) {
        double auc;
        char key[32];
        CU_ASSERT_EQUAL(churn_metrics_time_auc(rc.n, rc.col[COL_DURATION], rc.col[COL_EVENT],
                                               rc.col[COL_MARKER], NULL, hs[i], &auc),
                        CHURN_OK);
        snprintf(key, sizeof key, "time_auc_%d", (int)hs[i]);
        CT_NEAR(auc, ref_value("survival", key), 1e-12);
    }
    free_case(&rc);
    /* no censoring: equals sklearn's roc_auc_score of the marker against 1(T <= t) */
    CU_ASSERT_FATAL(load_case("nocens", &rc));
    double h2[2] = {5, 10};
    for (int i = 0; i < 2; i++) {
        double auc;
        char key[40];
        CU_ASSERT_EQUAL(churn_metrics_time_auc(rc.n, rc.col[COL_DURATION], rc.col[COL_EVENT],
                                               rc.col[COL_MARKER], NULL, h2[i], &auc),
                        CHURN_OK);
        snprintf(key, sizeof key, "time_auc_nocens_%d", (int)h2[i]);
        CT_NEAR(auc, ref_value("nocens", key), 1e-12);
    }
    free_case(&rc);
    /* errors: no control after the horizon, NaN marker named */
    double d[3] = {1, 2, 3}, ev[3] = {1, 1, 0}, m[3] = {0.3, NAN, 0.1}, auc;
    CU_ASSERT_EQUAL(churn_metrics_time_auc(3, d, ev, m, NULL, 5, &auc), CHURN_EINVAL);
    m[1] = 0.2;
    CU_ASSERT_EQUAL(churn_metrics_time_auc(3, d, ev, m, NULL, 5, &auc), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "controls") != NULL);
    m[1] = NAN;
    CU_ASSERT_EQUAL(churn_metrics_time_auc(3, d, ev, m, NULL, 2.5, &auc), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1, 'marker' is NaN") != NULL);
}

/* ---- edge cases: clear errors, never NaN ---------------------------------------- */

static void test_edge_cases(void)
{
    double s[4] = {0.1, 0.4, 0.35, 0.8}, y[4] = {0, 0, 1, 1}, w[4] = {1, 1, 1, 1}, v = -1;
    /* empty input */
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(0, s, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "empty input") != NULL);
    CU_ASSERT_EQUAL(churn_metrics_log_loss(0, s, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_brier(0, s, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT_EQUAL(v, -1);
    /* single class: AUC undefined */
    double one[4] = {1, 1, 1, 1};
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, s, one, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "only one class") != NULL);
    /* ... also when the other class has only zero weight */
    double w0[4] = {1, 1, 0, 0};
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, s, y, w0, &v), CHURN_EINVAL);
    /* log loss and Brier are defined for one class */
    CU_ASSERT_EQUAL(churn_metrics_log_loss(4, s, one, NULL, &v), CHURN_OK);
    CU_ASSERT(isfinite(v));
    /* NaN score / label, bad label, negative weight: the row is named */
    double bad[4] = {0.1, 0.4, NAN, 0.8};
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, bad, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2, 'score' is NaN") != NULL);
    CU_ASSERT_EQUAL(churn_metrics_brier(4, bad, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2, 'prob' is NaN") != NULL);
    double yn[4] = {0, NAN, 1, 1};
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, s, yn, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1, 'label'") != NULL);
    double y2[4] = {0, 2, 1, 1};
    CU_ASSERT_EQUAL(churn_metrics_log_loss(4, s, y2, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1, 'label' is 2 (must be 0 or 1)") != NULL);
    double wn[4] = {1, 1, 1, -0.5};
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, s, y, wn, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 3, 'weight' is -0.5") != NULL);
    double wz[4] = {0, 0, 0, 0};
    CU_ASSERT_EQUAL(churn_metrics_brier(4, s, y, wz, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "all weights are 0") != NULL);
    double inf[4] = {0.1, INFINITY, 0.2, 0.3};
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, inf, y, w, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1, 'score' is infinite") != NULL);
    /* probabilities outside [0, 1] */
    double p[4] = {0.1, 1.5, 0.2, 0.3};
    CU_ASSERT_EQUAL(churn_metrics_log_loss(4, p, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1, 'prob' is 1.5, outside [0, 1]") != NULL);
    /* the AUC accepts any finite score (not only probabilities) */
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, p, y, NULL, &v), CHURN_OK);
    /* log loss clipping: a confident wrong prediction costs -log(eps) */
    double p01[2] = {0.0, 1.0}, y10[2] = {1, 0};
    CU_ASSERT_EQUAL(churn_metrics_log_loss(2, p01, y10, NULL, &v), CHURN_OK);
    CT_CLOSE(v, -log(CHURN_METRICS_LOG_LOSS_EPS), 1e-12);
    /* NULL arguments */
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, NULL, y, NULL, &v), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_roc_auc(4, s, y, NULL, NULL), CHURN_EINVAL);
    /* k and bins out of range, no positives for lift/recall */
    double prec, rec;
    CU_ASSERT_EQUAL(churn_metrics_precision_recall_at_k(4, s, y, NULL, 0, &prec, &rec),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_precision_recall_at_k(4, s, y, NULL, 5, &prec, &rec),
                    CHURN_EINVAL);
    double zero[4] = {0, 0, 0, 0};
    CU_ASSERT_EQUAL(churn_metrics_precision_recall_at_k(4, s, zero, NULL, 2, &prec, &rec),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_precision_recall_at_k(4, s, zero, NULL, 2, &prec, NULL),
                    CHURN_OK);
    CU_ASSERT_EQUAL(prec, 0.0);
    double l[5];
    CU_ASSERT_EQUAL(churn_metrics_lift_table(4, s, y, NULL, 5, NULL, NULL, NULL, l, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_lift_table(4, s, zero, NULL, 2, NULL, NULL, NULL, l, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "lift is undefined") != NULL);
    CU_ASSERT_EQUAL(churn_metrics_calibration(4, s, y, NULL, 2, 7, NULL, NULL, NULL, NULL, NULL,
                                              &v), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_calibration(4, s, y, NULL, 0, CHURN_CALIBRATION_UNIFORM, NULL,
                                              NULL, NULL, NULL, NULL, &v), CHURN_EINVAL);
    /* uniform bins may be empty: weight 0, NaN means, no contribution to the ECE */
    double bw[20], mp[20];
    CU_ASSERT_EQUAL(churn_metrics_calibration(4, s, y, NULL, 20, CHURN_CALIBRATION_UNIFORM, NULL,
                                              NULL, bw, mp, NULL, &v), CHURN_OK);
    CU_ASSERT_EQUAL(bw[19], 0.0);
    CU_ASSERT(isnan(mp[19]));
    CU_ASSERT(isfinite(v));
}

/* ---- CDNOW: the transaction log, models with the published parameters ------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static double date_seconds(long ymd)
{
    return 86400.0 * (double)days_from_civil(ymd / 10000, (ymd / 100) % 100, ymd % 100);
}

/* CDNOW_sample.txt: master id, sample id, YYYYMMDD, CDs, dollars. */
static churn_txlog *load_cdnow(void)
{
    const char *path = churn_test_data_path("cdnow/CDNOW_sample.txt");
    if (!path)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    long master, sample, ymd, cds;
    double dollars;
    while (fscanf(f, "%ld %ld %ld %ld %lf", &master, &sample, &ymd, &cds, &dollars) == 5) {
        char id[32];
        snprintf(id, sizeof id, "%ld", sample);
        CU_ASSERT_EQUAL_FATAL(churn_txlog_append(log, id, date_seconds(ymd), dollars), CHURN_OK);
    }
    fclose(f);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 6919);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 2357);
    return log;
}

/* A model with fixed (published) parameters, in weeks. */
static churn_model *fixed_model(int family, double p0, double p1, double p2, double p3)
{
    double p[4] = {p0, p1, p2, p3};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_btyd_model_new(&m, family, 4, p), CHURN_OK);
    if (m)
        CU_ASSERT_EQUAL(churn_model_set_time_unit(m, 7.0), CHURN_OK);
    return m;
}

static churn_model *published_bgnbd(void)
{
    return fixed_model(CHURN_FAMILY_BGNBD, 0.2425945, 4.4136019, 0.7929199, 2.4258881);
}

static churn_model *published_pnbd(void)
{
    return fixed_model(CHURN_FAMILY_PNBD, 0.5533971, 10.5801985, 0.6060625, 11.6562237);
}

static void test_cdnow_tracking(void)
{
    const char *ref = churn_test_data_path("cdnow/cdnow_cumulative_repeat_weekly.csv");
    if (!ref) {
        churn_test_skip("cdnow tracking", "../shared/data/cdnow is absent");
        return;
    }
    double want[78];
    FILE *f = fopen(ref, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(fgets(line, sizeof line, f));
    for (int k = 0; k < 78; k++) {
        int week = 0;
        CU_ASSERT_FATAL(fgets(line, sizeof line, f) != NULL);
        CU_ASSERT_FATAL(sscanf(line, "\"%d\",%lf", &week, &want[k]) == 2);
        CU_ASSERT_EQUAL(week, k + 1);
    }
    fclose(f);

    churn_txlog *log = load_cdnow();
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    churn_model *bg = published_bgnbd(), *pn = published_pnbd();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pn);
    /* defaults: weeks from midnight of the first purchase day (1997-01-01), same-day once */
    double act[78], inc[78], exp_bg[78], exp_bg_inc[78], exp_pn[78];
    CU_ASSERT_EQUAL_FATAL(churn_metrics_repeat_tracking(log, bg, 78, NULL, act, exp_bg, inc,
                                                        exp_bg_inc),
                          CHURN_OK);
    int exact = 1;
    for (int k = 0; k < 78; k++) {
        if (act[k] != want[k]) {
            printf("\n  week %d: actual %g, reference %g", k + 1, act[k], want[k]);
            exact = 0;
        }
        CU_ASSERT_EQUAL(inc[k], act[k] - (k ? act[k - 1] : 0.0));
        CT_NEAR(exp_bg_inc[k], exp_bg[k] - (k ? exp_bg[k - 1] : 0.0), 1e-9);
    }
    CU_ASSERT(exact);
    /* the same with an explicit origin and period */
    churn_tracking_options o = CHURN_TRACKING_OPTIONS_INIT;
    o.origin = date_seconds(19970101);
    o.period_days = 7;
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, pn, 78, &o, NULL, exp_pn, NULL, NULL),
                    CHURN_OK);
    /* README: expected cumulative repeat transactions at weeks 20-25 (published parameters,
     * rounded differently there: within 0.5) */
    const double bg_ref[6] = {1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6};
    const double pn_ref[6] = {1308.856, 1385.275, 1459.923, 1532.906, 1604.32, 1674.253};
    for (int k = 0; k < 6; k++) {
        CT_NEAR(exp_bg[19 + k], bg_ref[k], 0.5);
        CT_NEAR(exp_pn[19 + k], pn_ref[k], 0.5);
    }
    printf("\n  week 25: actual %g, BG/NBD %.3f, Pareto/NBD %.3f; week 78: actual %g, "
           "BG/NBD %.1f, Pareto/NBD %.1f\n",
           act[24], exp_bg[24], exp_pn[24], act[77], exp_bg[77], exp_pn[77]);
    /* counting every transaction gives more repeats (same-day purchases exist) */
    double every[78];
    o.every_transaction = 1;
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, NULL, 78, &o, every, NULL, NULL, NULL),
                    CHURN_OK);
    CU_ASSERT(every[77] > act[77]);
    /* two-week periods with the model in weeks: period p ends at week 2p */
    double two[39];
    o.every_transaction = 0;
    o.period_days = 14;
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, bg, 39, &o, NULL, two, NULL, NULL),
                    CHURN_OK);
    for (int p = 0; p < 39; p++)
        CT_CLOSE(two[p], exp_bg[2 * p + 1], 1e-12);
    /* a model without a time unit is taken to be in units of the period */
    double par[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881}, weekly[78];
    churn_model *bg0 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&bg0, CHURN_FAMILY_BGNBD, 4, par), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_time_unit(bg0), 0.0);
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, bg0, 78, NULL, NULL, weekly, NULL, NULL),
                    CHURN_OK);
    for (int k = 0; k < 78; k++)
        CT_CLOSE(weekly[k], exp_bg[k], 1e-12);
    churn_model_free(bg0);
    /* errors */
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, NULL, 78, NULL, act, exp_bg, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, bg, 0, NULL, act, NULL, NULL, NULL),
                    CHURN_EINVAL);
    o.period_days = -1;
    CU_ASSERT_EQUAL(churn_metrics_repeat_tracking(log, bg, 78, &o, act, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "period_days") != NULL);
    churn_model_free(bg);
    churn_model_free(pn);
    churn_txlog_free(log);
}

/* Holdout by frequency: lifetimes' 52-week conditional expectations (lifetimes_clv.csv,
 * BG/NBD at lifetimes' own fitted parameters) averaged per frequency group. */
static void test_holdout_by_frequency(void)
{
    const char *path = churn_test_data_path("cdnow/lifetimes_clv.csv");
    if (!path) {
        churn_test_skip("holdout by frequency", "../shared/data/cdnow is absent");
        return;
    }
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = 0;
    double *x = malloc(3000 * sizeof *x), *tx = malloc(3000 * sizeof *tx),
           *T = malloc(3000 * sizeof *T), *e52 = malloc(3000 * sizeof *e52),
           *zero = calloc(3000, sizeof *zero);
    char line[512];
    while (fgets(line, sizeof line, f) && n < 3000) {
        long id;
        double zbar, pa;
        if (line[0] == '#' || line[0] == 'I')
            continue;
        if (sscanf(line, "%ld,%lf,%lf,%lf,%lf,%lf,%lf", &id, &x[n], &tx[n], &T[n], &zbar, &pa,
                   &e52[n]) == 7)
            n++;
    }
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(n, 2357);
    churn_model *m = fixed_model(CHURN_FAMILY_BGNBD, 0.2425945434, 4.413602716, 0.7929218333,
                                 2.425905729);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    double cnt[8], mact[8], mexp[8], mae;
    CU_ASSERT_EQUAL_FATAL(churn_metrics_holdout_by_frequency(m, 52.0, n, x, tx, T, zero, 7, cnt,
                                                             mact, mexp, &mae),
                          CHURN_OK);
    double rc[8] = {0}, rs[8] = {0}, all = 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = x[i] >= 7 ? 7 : (size_t)x[i];
        rc[g] += 1;
        rs[g] += e52[i];
        all += e52[i];
    }
    for (int g = 0; g < 8; g++) {
        CU_ASSERT_EQUAL(cnt[g], rc[g]);
        CT_CLOSE(mexp[g], rs[g] / rc[g], 1e-8);
        CU_ASSERT_EQUAL(mact[g], 0.0);
    }
    /* with actual = 0 the MAE is the mean prediction */
    CT_CLOSE(mae, all / (double)n, 1e-8);
    /* README: x 2, t_x 30.43, T 38.86, 39 weeks -> 1.2259 at the published parameters */
    churn_model *pub = published_bgnbd();
    double x1 = 2, t1 = 30.43, T1 = 38.86, a1 = 1, c3[3], e3[3], mae1;
    CU_ASSERT_EQUAL(churn_metrics_holdout_by_frequency(pub, 39.0, 1, &x1, &t1, &T1, &a1, 2, c3,
                                                       NULL, e3, &mae1), CHURN_OK);
    CU_ASSERT_EQUAL(c3[2], 1.0);
    CU_ASSERT_EQUAL(c3[0], 0.0);
    CT_NEAR(e3[2], 1.2259, 5e-5);
    CT_NEAR(mae1, 0.2259, 5e-5);
    /* errors name the row / argument */
    zero[5] = -1;
    CU_ASSERT_EQUAL(churn_metrics_holdout_by_frequency(m, 52.0, n, x, tx, T, zero, 7, NULL, NULL,
                                                       NULL, &mae), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 5, 'actual'") != NULL);
    zero[5] = 0;
    CU_ASSERT_EQUAL(churn_metrics_holdout_by_frequency(m, 0.0, n, x, tx, T, zero, 7, NULL, NULL,
                                                       NULL, &mae), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "holdout_length") != NULL);
    churn_model_free(m);
    churn_model_free(pub);
    free(x);
    free(tx);
    free(T);
    free(e52);
    free(zero);
}

/* ---- time-split comparison on CDNOW ------------------------------------------------ */

static void test_compare_cdnow(void)
{
    churn_txlog *log = load_cdnow();
    if (!log) {
        churn_test_skip("compare on CDNOW", "../shared/data/cdnow is absent");
        return;
    }
    churn_comparison_options o = CHURN_COMPARISON_OPTIONS_INIT;
    o.cutoff = date_seconds(19970930);
    o.holdout_end = date_seconds(19980630);
    o.models = "bgnbd,pnbd,logit,cox";
    churn_comparison *c = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_metrics_compare(&c, log, &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_comparison_num_models(c), 4);
    CT_NEAR(churn_comparison_holdout_length(c), 39.0, 1e-12);
    const churn_customers *t = churn_comparison_customers(c);
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 2357);
    printf("\n  model   auc       log_loss  brier     top_decile_lift  holdout_mae  status\n");
    for (size_t i = 0; i < churn_comparison_num_models(c); i++) {
        double auc = NAN, ll = NAN, br = NAN, lift = NAN, mae = NAN;
        churn_comparison_value(c, i, "auc", &auc);
        churn_comparison_value(c, i, "log_loss", &ll);
        churn_comparison_value(c, i, "brier", &br);
        churn_comparison_value(c, i, "top_decile_lift", &lift);
        churn_comparison_value(c, i, "holdout_mae", &mae);
        printf("  %-7s %.6f  %.6f  %.6f  %.6f         %.6f     %d %s\n",
               churn_comparison_model_name(c, i), auc, ll, br, lift, mae,
               churn_comparison_status(c, i), churn_comparison_note(c, i));
        int st = churn_comparison_status(c, i);
        CU_ASSERT(st == CHURN_OK || st == CHURN_ENOCONV);
        /* sanity, not a reference: every model ranks better than chance, and the top
         * decile holds more churners than average (at most 1 / churn rate) */
        CU_ASSERT(auc > 0.6 && auc < 1.0);
        CU_ASSERT(lift > 1.0 && lift < 2.0);
        CU_ASSERT(isfinite(ll) && isfinite(br));
    }
    /* BG/NBD fitted inside the comparison is the published fit: the calibration
     * features (weeks, cutoff 1997-09-30) are the right ones */
    const churn_model *bg = churn_comparison_model(c, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bg);
    double r, alpha, a, b;
    CU_ASSERT_EQUAL(churn_model_param(bg, "r", &r, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_param(bg, "alpha", &alpha, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_param(bg, "a", &a, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_param(bg, "b", &b, NULL), CHURN_OK);
    CT_CLOSE(r, 0.2425945, 1e-4);
    CT_CLOSE(alpha, 4.4136019, 1e-4);
    CT_CLOSE(a, 0.7929199, 1e-4);
    CT_CLOSE(b, 2.4258881, 1e-4);
    /* its scores are P(no purchase in the 39-week holdout | history) */
    const double *sc = churn_comparison_scores(c, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    double p0;
    CU_ASSERT_EQUAL(churn_btyd_prob_purchases_cond(bg, 0.0, 39.0, 1,
                                                   churn_customers_column(t, "frequency"),
                                                   churn_customers_column(t, "recency"),
                                                   churn_customers_column(t, "T"), &p0),
                    CHURN_OK);
    CT_NEAR(sc[0], p0, 1e-15);
    double v;
    CU_ASSERT_EQUAL(churn_comparison_value(c, 2, "holdout_mae", &v), CHURN_EUNSUPPORTED);
    CU_ASSERT_EQUAL(churn_comparison_value(c, 0, "nonsense", &v), CHURN_ENOTFOUND);
    CU_ASSERT_EQUAL(churn_comparison_value(c, 9, "auc", &v), CHURN_ERANGE);
    churn_comparison_free(c);

    /* P(churn) = 1 - P(alive): BG/NBD puts every one-time buyer at P(alive) = 1, so
     * the ranking is poor on CDNOW, where most one-time buyers churn */
    o.models = "bgnbd,pnbd";
    o.btyd_churn = CHURN_BTYD_CHURN_NOT_ALIVE;
    CU_ASSERT_EQUAL_FATAL(churn_metrics_compare(&c, log, &o), CHURN_OK);
    for (size_t i = 0; i < 2; i++) {
        double ll0 = NAN, auc0 = NAN, lift0 = NAN;
        CU_ASSERT_EQUAL(churn_comparison_value(c, i, "log_loss", &ll0), CHURN_OK);
        CU_ASSERT_EQUAL(churn_comparison_value(c, i, "auc", &auc0), CHURN_OK);
        CU_ASSERT_EQUAL(churn_comparison_value(c, i, "top_decile_lift", &lift0), CHURN_OK);
        printf("  %s with P(churn) = 1 - P(alive): auc %.6f, log_loss %.6f, top_decile_lift "
               "%.6f\n", churn_comparison_model_name(c, i), auc0, ll0, lift0);
    }
    const double *na = churn_comparison_scores(c, 0);
    double pa;
    CU_ASSERT_EQUAL(churn_btyd_p_alive(churn_comparison_model(c, 0), 1,
                                       churn_customers_column(churn_comparison_customers(c),
                                                              "frequency"),
                                       churn_customers_column(churn_comparison_customers(c),
                                                              "recency"),
                                       churn_customers_column(churn_comparison_customers(c), "T"),
                                       &pa), CHURN_OK);
    CT_NEAR(na[0], 1.0 - pa, 1e-15);
    churn_comparison_free(c);

    /* a failing model is reported, not fatal: collinear features */
    o.btyd_churn = CHURN_BTYD_CHURN_NO_PURCHASE;
    o.models = "logit,bgnbd";
    o.features = "recency,T,time_since_last";
    CU_ASSERT_EQUAL_FATAL(churn_metrics_compare(&c, log, &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_comparison_status(c, 0), CHURN_ENUMERIC);
    CU_ASSERT(strstr(churn_comparison_note(c, 0), "collinear") != NULL);
    CU_ASSERT_EQUAL(churn_comparison_value(c, 0, "auc", &v), CHURN_ENUMERIC);
    CU_ASSERT_PTR_NULL(churn_comparison_scores(c, 0));
    CU_ASSERT_PTR_NULL(churn_comparison_model(c, 0));
    CU_ASSERT_EQUAL(churn_comparison_status(c, 1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_comparison_value(c, 1, "auc", &v), CHURN_OK);
    churn_comparison_free(c);
    o.features = NULL;

    /* errors */
    o.models = "bgnbd,sbg";
    CU_ASSERT_EQUAL(churn_metrics_compare(&c, log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'sbg'") != NULL);
    CU_ASSERT_PTR_NULL(c);
    o.models = "logit";
    o.features = "frequency,no_such_column";
    CU_ASSERT_EQUAL(churn_metrics_compare(&c, log, &o), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "no_such_column") != NULL);
    o.features = NULL;
    o.holdout_end = 0;
    CU_ASSERT_EQUAL(churn_metrics_compare(&c, log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "holdout_end") != NULL);
    churn_txlog_free(log);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"AUC, log loss, Brier vs scikit-learn: random", test_sklearn_random},
        {"AUC, log loss, Brier vs scikit-learn: ties", test_sklearn_tied},
        {"AUC, log loss, Brier vs scikit-learn: all equal", test_sklearn_all_equal},
        {"calibration_curve uniform vs scikit-learn", test_calibration_uniform},
        {"calibration quantile bins, ties split", test_calibration_quantile},
        {"precision/recall at k, lift: untied", test_topk_lift_untied},
        {"lift and precision at k: ties", test_lift_ties},
        {"time-dependent AUC", test_time_auc},
        {"edge cases", test_edge_cases},
        {"CDNOW weekly repeat tracking", test_cdnow_tracking},
        {"CDNOW holdout by frequency", test_holdout_by_frequency},
        {"CDNOW comparison", test_compare_cdnow},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("metrics", tests);
}
