/* Logistic-regression churn model: against R 4.2 glm/glmnet and scikit-learn 1.2
 * (../shared/data/logistic), plus degenerate data, errors and model files. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* ---- a small CSV reader for the reference files -------------------------- */

typedef struct table {
    size_t nrows, ncols;
    char **names;  /* ncols */
    char ***cells; /* nrows x ncols */
} table;

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Split one line (quotes honoured); returns the number of fields. */
static size_t split_line(const char *line, char ***out)
{
    size_t cap = 16, n = 0;
    char **f = malloc(cap * sizeof *f);
    const char *p = line;
    for (;;) {
        char buf[4096];
        size_t len = 0;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                if (len < sizeof buf - 1)
                    buf[len++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r') {
                if (len < sizeof buf - 1)
                    buf[len++] = *p;
                p++;
            }
        }
        if (n == cap) {
            cap *= 2;
            f = realloc(f, cap * sizeof *f);
        }
        f[n++] = dupn(buf, len);
        if (*p != ',')
            break;
        p++;
    }
    *out = f;
    return n;
}

static int table_read(const char *path, table *t)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t rowcap = 0;
    while ((got = getline(&line, &cap, fp)) > 0) {
        if (line[0] == '\n' || line[0] == '\r')
            continue;
        char **f;
        size_t nf = split_line(line, &f);
        if (!t->names) {
            t->names = f;
            t->ncols = nf;
            continue;
        }
        if (t->nrows == rowcap) {
            rowcap = rowcap ? 2 * rowcap : 64;
            t->cells = realloc(t->cells, rowcap * sizeof *t->cells);
        }
        t->cells[t->nrows++] = f;
    }
    free(line);
    fclose(fp);
    return 0;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->ncols; j++)
            free(t->cells[i][j]);
        free(t->cells[i]);
    }
    for (size_t j = 0; j < t->ncols; j++)
        free(t->names[j]);
    free(t->names);
    free(t->cells);
}

static int col_index(const table *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], name) == 0)
            return (int)j;
    return -1;
}

static double num(const table *t, size_t i, const char *col)
{
    int j = col_index(t, col);
    return j < 0 ? NAN : strtod(t->cells[i][j], NULL);
}

/* Row-major n x p matrix of the named columns. */
static double *matrix(const table *t, const char *const *cols, size_t p)
{
    double *x = malloc(t->nrows * p * sizeof *x);
    for (size_t i = 0; i < t->nrows; i++)
        for (size_t j = 0; j < p; j++)
            x[i * p + j] = num(t, i, cols[j]);
    return x;
}

static double *column(const table *t, const char *col)
{
    double *v = malloc(t->nrows * sizeof *v);
    for (size_t i = 0; i < t->nrows; i++)
        v[i] = num(t, i, col);
    return v;
}

/* R reference row: (model, term) -> field value. */
static double ref(const table *r, const char *model, const char *term, const char *field)
{
    int jm = col_index(r, "model"), jt = col_index(r, "term");
    for (size_t i = 0; i < r->nrows; i++)
        if (strcmp(r->cells[i][jm], model) == 0 && strcmp(r->cells[i][jt], term) == 0)
            return num(r, i, field);
    printf("\n  reference %s / %s not found\n", model, term);
    return NAN;
}

/* Read a number following "key": after position `from` in a JSON text. */
static double json_num(const char *text, const char *from, const char *key, const char **at)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(from ? from : text, pat);
    if (!p)
        return NAN;
    if (at)
        *at = p;
    return strtod(p + strlen(pat), NULL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static int load(const char *rel, table *t, const char *test)
{
    const char *path = churn_test_data_path(rel);
    if (!path) {
        churn_test_skip(test, "reference data ../shared/data/logistic is absent");
        return -1;
    }
    if (table_read(path, t) != 0) {
        CU_FAIL("cannot read a reference file");
        return -1;
    }
    return 0;
}

/* Compare a fit with an R glm reference: coefficients and SEs to 1e-6
 * relative; deviance, null deviance, AIC and log-likelihood to 1e-8. */
static void check_glm(const churn_model *m, const table *r, const char *model,
                      const char *const *terms, size_t nterms)
{
    CU_ASSERT_EQUAL_FATAL(churn_model_num_params(m), nterms + 1);
    double ecoef = 0, ese = 0;
    for (size_t i = 0; i <= nterms; i++) {
        const char *term = i == 0 ? "(Intercept)" : terms[i - 1];
        CU_ASSERT_STRING_EQUAL(churn_model_param_name(m, i),
                               i == 0 ? "(Intercept)" : terms[i - 1]);
        churn_logit_term t;
        memset(&t, 0, sizeof t);
        t.struct_size = sizeof t;
        CU_ASSERT_EQUAL(churn_logit_term_get(m, i, &t), CHURN_OK);
        CT_CLOSE(t.estimate, ref(r, model, term, "coef"), 1e-6);
        CT_CLOSE(t.std_error, ref(r, model, term, "se"), 1e-6);
        ecoef = fmax(ecoef, fabs(t.estimate / ref(r, model, term, "coef") - 1));
        ese = fmax(ese, fabs(t.std_error / ref(r, model, term, "se") - 1));
        CT_CLOSE(t.z, ref(r, model, term, "z"), 1e-6);
        CT_CLOSE(t.p_value, ref(r, model, term, "p"), 1e-5);
        CT_CLOSE(t.odds_ratio, exp(ref(r, model, term, "coef")), 1e-6);
    }
    churn_logit_summary s;
    s.struct_size = sizeof s;
    CU_ASSERT_EQUAL(churn_logit_summary_get(m, &s), CHURN_OK);
    const char *t0 = "(Intercept)";
    CT_NEAR(s.deviance, ref(r, model, t0, "deviance"), 1e-8);
    CT_NEAR(s.null_deviance, ref(r, model, t0, "null_deviance"), 1e-8);
    CT_NEAR(s.aic, ref(r, model, t0, "aic"), 1e-8);
    CT_NEAR(s.loglik, ref(r, model, t0, "loglik"), 1e-8);
    CT_NEAR(churn_model_loglik(m), ref(r, model, t0, "loglik"), 1e-8);
    CT_NEAR(s.df_residual, ref(r, model, t0, "df_resid"), 0);
    CU_ASSERT_EQUAL(s.converged, 1);
    CU_ASSERT_EQUAL(churn_model_converged(m), 1);
    printf("\n  %s: max rel. err coef %.2g, se %.2g; abs. err deviance %.2g, aic %.2g "
           "(%d iterations)", model, ecoef, ese, fabs(s.deviance - ref(r, model, t0, "deviance")),
           fabs(s.aic - ref(r, model, t0, "aic")), s.iterations);
    CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_LOGIT);
}

/* ---- unpenalised: R glm(binomial) ---------------------------------------------- */

static void test_glm_mtcars(void)
{
    table d, r;
    if (load("logistic/mtcars.csv", &d, "glm_mtcars"))
        return;
    if (load("logistic/glm_binomial.csv", &r, "glm_mtcars")) {
        table_free(&d);
        return;
    }
    const char *cols[] = {"hp", "wt"};
    double *x = matrix(&d, cols, 2), *y = column(&d, "am");
    churn_model *m = NULL;
    int rc = churn_logit_fit(&m, x, d.nrows, 2, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, cols, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    check_glm(m, &r, "mtcars: am ~ hp + wt", cols, 2);
    /* the covariance is symmetric and its diagonal gives the SEs */
    double cov[9], se[3];
    CU_ASSERT_EQUAL(churn_model_covariance(m, cov, 9), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_std_errors(m, se, 3), CHURN_OK);
    CT_CLOSE(cov[1], cov[3], 1e-12);
    CT_CLOSE(sqrt(cov[8]), se[2], 1e-14);
    CU_ASSERT_STRING_EQUAL(churn_model_note(m), "");
    churn_model_free(m);
    free(x);
    free(y);
    table_free(&d);
    table_free(&r);
}

static void test_glm_infert(void)
{
    table d, r;
    if (load("logistic/infert.csv", &d, "glm_infert"))
        return;
    if (load("logistic/glm_binomial.csv", &r, "glm_infert")) {
        table_free(&d);
        return;
    }
    const char *cols[] = {"age", "parity", "spontaneous", "induced"};
    double *x = matrix(&d, cols, 4), *y = column(&d, "case");
    churn_model *m = NULL;
    /* column-major this time */
    size_t n = d.nrows;
    double *xc = malloc(n * 4 * sizeof *xc);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 4; j++)
            xc[j * n + i] = x[i * 4 + j];
    int rc = churn_logit_fit(&m, xc, n, 4, CHURN_LOGIT_COL_MAJOR, n, y, NULL, cols, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    check_glm(m, &r, "infert: case ~ age + parity + spontaneous + induced", cols, 4);
    churn_model_free(m);

    /* with education as treatment-coded dummies (reference level 0-5yrs) */
    const char *cols2[] = {"age", "parity", "education6-11yrs", "education12+ yrs", "spontaneous",
                           "induced"};
    double *x2 = malloc(n * 6 * sizeof *x2);
    int je = col_index(&d, "education");
    for (size_t i = 0; i < n; i++) {
        x2[i * 6 + 0] = num(&d, i, "age");
        x2[i * 6 + 1] = num(&d, i, "parity");
        x2[i * 6 + 2] = strcmp(d.cells[i][je], "6-11yrs") == 0;
        x2[i * 6 + 3] = strcmp(d.cells[i][je], "12+ yrs") == 0;
        x2[i * 6 + 4] = num(&d, i, "spontaneous");
        x2[i * 6 + 5] = num(&d, i, "induced");
    }
    rc = churn_logit_fit(&m, x2, n, 6, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, cols2, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    check_glm(m, &r,
              "infert: case ~ age + parity + education(factor, ref=0-5yrs) + spontaneous + induced",
              cols2, 6);
    churn_model_free(m);
    free(x);
    free(x2);
    free(xc);
    free(y);
    table_free(&d);
    table_free(&r);
}

static void test_glm_breast_subset(void)
{
    table d, r;
    if (load("logistic/breast_cancer_standardized.csv", &d, "glm_breast_subset"))
        return;
    if (load("logistic/glm_binomial.csv", &r, "glm_breast_subset")) {
        table_free(&d);
        return;
    }
    const char *cols[] = {"mean_radius", "mean_texture", "mean_smoothness", "mean_concave_points",
                          "worst_symmetry"};
    double *x = matrix(&d, cols, 5), *y = column(&d, "target");
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&m, x, d.nrows, 5, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, cols, NULL),
        CHURN_OK);
    check_glm(m, &r, "breast_cancer standardized: target ~ 5-feature subset", cols, 5);
    churn_model_free(m);
    free(x);
    free(y);
    table_free(&d);
    table_free(&r);
}

/* Balanced class weights (n/(2 n_c)) against R glm with those prior weights. */
static void test_glm_weighted(void)
{
    table d, r;
    if (load("logistic/mtcars.csv", &d, "glm_weighted"))
        return;
    if (load("logistic/glm_binomial_weighted.csv", &r, "glm_weighted")) {
        table_free(&d);
        return;
    }
    const char *model = "mtcars weighted (balanced class weights): am ~ hp + wt";
    const char *cols[] = {"hp", "wt"};
    double *x = matrix(&d, cols, 2), *y = column(&d, "am");
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.class_weight = CHURN_LOGIT_CLASS_WEIGHT_BALANCED;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&m, x, d.nrows, 2, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, cols, &o),
        CHURN_OK);
    check_glm(m, &r, model, cols, 2);
    churn_model_free(m);
    /* the same weights given explicitly */
    size_t n = d.nrows, n1 = 0;
    for (size_t i = 0; i < n; i++)
        n1 += y[i] == 1;
    double *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = y[i] == 1 ? (double)n / (2.0 * n1) : (double)n / (2.0 * (n - n1));
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&m, x, n, 2, CHURN_LOGIT_ROW_MAJOR, 0, y, w, cols, NULL), CHURN_OK);
    check_glm(m, &r, model, cols, 2);
    churn_model_free(m);
    free(w);
    free(x);
    free(y);
    table_free(&d);
    table_free(&r);
}

/* ---- penalised: scikit-learn exact optimum and glmnet --------------------------------- */

static const char *const bc_cols[30] = {
    "mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
    "mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry",
    "mean_fractal_dimension", "radius_error", "texture_error", "perimeter_error", "area_error",
    "smoothness_error", "compactness_error", "concavity_error", "concave_points_error",
    "symmetry_error", "fractal_dimension_error", "worst_radius", "worst_texture",
    "worst_perimeter", "worst_area", "worst_smoothness", "worst_compactness", "worst_concavity",
    "worst_concave_points", "worst_symmetry", "worst_fractal_dimension"};

static void test_sklearn_exact(void)
{
    table d;
    if (load("logistic/breast_cancer_standardized.csv", &d, "sklearn_exact"))
        return;
    const char *jp = churn_test_data_path("logistic/logit_sklearn_statsmodels.json");
    char *js = jp ? slurp(jp) : NULL;
    if (!js) {
        CU_FAIL("cannot read logit_sklearn_statsmodels.json");
        table_free(&d);
        return;
    }
    double *x = matrix(&d, bc_cols, 30), *y = column(&d, "target");
    size_t n = d.nrows;
    CU_ASSERT_EQUAL(n, 569);
    const struct {
        const char *key;
        double C;
        int balanced;
    } fits[] = {{"l2_C1_EXACT_newton", 1.0, 0},
                {"l2_C0.1_EXACT_newton", 0.1, 0},
                {"l2_C1_balanced_EXACT_newton", 1.0, 1}};
    for (size_t f = 0; f < 3; f++) {
        char key[128];
        snprintf(key, sizeof key, "\"%s\"", fits[f].key);
        const char *at = strstr(js, key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        churn_logit_options o;
        churn_logit_options_init(&o);
        o.penalty = CHURN_LOGIT_PENALTY_L2;
        o.lambda = 1.0 / ((double)n * fits[f].C); /* sklearn's C on glmnet's scale */
        o.class_weight = fits[f].balanced ? CHURN_LOGIT_CLASS_WEIGHT_BALANCED : 0;
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(
            churn_logit_fit(&m, x, n, 30, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, bc_cols, &o),
            CHURN_OK);
        double b[31];
        churn_model_params(m, b, 31);
        const char *coef_at = NULL;
        CT_NEAR(b[0], json_num(js, at, "intercept", NULL), 1e-6);
        json_num(js, at, "coef", &coef_at);
        double err = fabs(b[0] - json_num(js, at, "intercept", NULL));
        for (size_t j = 0; j < 30; j++) {
            CT_NEAR(b[1 + j], json_num(js, coef_at, bc_cols[j], NULL), 1e-6);
            err = fmax(err, fabs(b[1 + j] - json_num(js, coef_at, bc_cols[j], NULL)));
        }
        printf("\n  %s: max abs. err %.2g (%d iterations)", fits[f].key, err,
               churn_model_iterations(m));
        /* -loglik at the optimum (the json's neg_loglik, unweighted fits) */
        churn_logit_summary s;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        churn_logit_summary_get(m, &s);
        if (!fits[f].balanced)
            CT_CLOSE(s.deviance / 2, json_num(js, at, "neg_loglik", NULL), 1e-9);
        /* penalised: no standard errors, no AIC, no covariance */
        double se[31];
        churn_model_std_errors(m, se, 31);
        CU_ASSERT(isnan(se[1]));
        CU_ASSERT(isnan(s.aic));
        double cov[31 * 31];
        CU_ASSERT_EQUAL(churn_model_covariance(m, cov, 31 * 31), CHURN_EUNSUPPORTED);
        churn_model_free(m);
    }
    free(js);
    free(x);
    free(y);
    table_free(&d);
}

static void test_glmnet(void)
{
    table d, r;
    if (load("logistic/breast_cancer_standardized.csv", &d, "glmnet"))
        return;
    if (load("logistic/glmnet_breast_cancer.csv", &r, "glmnet")) {
        table_free(&d);
        return;
    }
    double *x = matrix(&d, bc_cols, 30), *y = column(&d, "target");
    size_t n = d.nrows;
    const char *fits[] = {"l2_C1", "l2_C0.1", "l2_C1_balanced", "l1_C0.1",
                          "elasticnet_C0.1_l1ratio0.5"};
    int jf = col_index(&r, "fit"), jt = col_index(&r, "term");
    for (size_t f = 0; f < 5; f++) {
        double lambda = NAN, alpha = NAN;
        double want[31];
        for (size_t i = 0; i < r.nrows; i++) {
            if (strcmp(r.cells[i][jf], fits[f]) != 0)
                continue;
            lambda = num(&r, i, "glmnet_lambda");
            alpha = num(&r, i, "alpha");
            const char *term = r.cells[i][jt];
            if (strcmp(term, "(Intercept)") == 0)
                want[0] = num(&r, i, "coef");
            for (size_t j = 0; j < 30; j++)
                if (strcmp(term, bc_cols[j]) == 0)
                    want[1 + j] = num(&r, i, "coef");
        }
        churn_logit_options o;
        churn_logit_options_init(&o);
        o.penalty = alpha == 0 ? CHURN_LOGIT_PENALTY_L2
                               : (alpha == 1 ? CHURN_LOGIT_PENALTY_L1
                                             : CHURN_LOGIT_PENALTY_ELASTICNET);
        o.alpha = alpha;
        o.lambda = lambda;
        o.class_weight = strstr(fits[f], "balanced") ? CHURN_LOGIT_CLASS_WEIGHT_BALANCED : 0;
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(
            churn_logit_fit(&m, x, n, 30, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, bc_cols, &o),
            CHURN_OK);
        double b[31];
        churn_model_params(m, b, 31);
        size_t zeros = 0, want_zeros = 0;
        double err = 0;
        for (size_t j = 0; j < 31; j++) {
            CT_NEAR(b[j], want[j], 1e-5);
            err = fmax(err, fabs(b[j] - want[j]));
            zeros += b[j] == 0;
            want_zeros += want[j] == 0;
        }
        /* the lasso's exact zeros are reproduced */
        CU_ASSERT_EQUAL(zeros, want_zeros);
        printf("\n  glmnet %s: max abs. err %.2g, %zu zeros (%d iterations)", fits[f], err, zeros,
               churn_model_iterations(m));
        churn_logit_summary s;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        churn_logit_summary_get(m, &s);
        CU_ASSERT_EQUAL(s.nonzero, 30 - want_zeros);
        CT_CLOSE(s.lambda, lambda, 1e-15);
        churn_model_free(m);
    }
    free(x);
    free(y);
    table_free(&d);
    table_free(&r);
}

/* standardize = 1 on the raw data penalises the standardised coefficients:
 * the fit maps onto the reference fitted on the standardised file. */
static void test_standardize_raw(void)
{
    table d;
    if (load("logistic/breast_cancer.csv", &d, "standardize_raw"))
        return;
    const char *jp = churn_test_data_path("logistic/logit_sklearn_statsmodels.json");
    char *js = jp ? slurp(jp) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    double *x = matrix(&d, bc_cols, 30), *y = column(&d, "target");
    size_t n = d.nrows;
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.penalty = CHURN_LOGIT_PENALTY_L2;
    o.lambda = 1.0 / (double)n;
    o.standardize = 1;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&m, x, n, 30, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, bc_cols, &o), CHURN_OK);
    double b[31];
    churn_model_params(m, b, 31);
    const char *at = strstr(js, "\"l2_C1_EXACT_newton\""), *coef_at = NULL;
    json_num(js, at, "coef", &coef_at);
    double b0 = b[0];
    for (size_t j = 0; j < 30; j++) {
        /* population mean and SD of column j, computed here independently */
        double mu = 0, v = 0;
        for (size_t i = 0; i < n; i++)
            mu += x[i * 30 + j];
        mu /= (double)n;
        for (size_t i = 0; i < n; i++)
            v += (x[i * 30 + j] - mu) * (x[i * 30 + j] - mu);
        double sd = sqrt(v / (double)n);
        CT_NEAR(b[1 + j] * sd, json_num(js, coef_at, bc_cols[j], NULL), 1e-6);
        b0 += b[1 + j] * mu;
    }
    CT_NEAR(b0, json_num(js, at, "intercept", NULL), 1e-6);
    churn_model_free(m);
    free(js);
    free(x);
    free(y);
    table_free(&d);
}

/* ---- layouts, contributions, model files (mtcars, no reference needed) ---------------- */

/* mtcars hp, wt, am, embedded so these tests run without ../shared/data. */
static const double mt_hp[32] = {110, 110, 93,  110, 175, 105, 245, 62,  95,  123, 123,
                                 180, 180, 180, 205, 215, 230, 66,  52,  65,  97,  150,
                                 150, 245, 175, 66,  91,  113, 264, 175, 335, 109};
static const double mt_wt[32] = {2.62,  2.875, 2.32,  3.215, 3.44,  3.46,  3.57,  3.19,
                                 3.15,  3.44,  3.44,  4.07,  3.73,  3.78,  5.25,  5.424,
                                 5.345, 2.2,   1.615, 1.835, 2.465, 3.52,  3.435, 3.84,
                                 3.845, 1.935, 2.14,  1.513, 3.17,  2.77,  3.57,  2.78};
static const double mt_am[32] = {1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1};

static void test_layouts(void)
{
    const char *names[] = {"hp", "wt"};
    /* row-major with ld = 5 (padding), column-major with ld = 40 */
    double xr[32 * 5], xc[2 * 40];
    for (size_t i = 0; i < 32; i++) {
        xr[i * 5 + 0] = mt_hp[i];
        xr[i * 5 + 1] = mt_wt[i];
        xr[i * 5 + 2] = xr[i * 5 + 3] = xr[i * 5 + 4] = NAN; /* padding is never read */
        xc[i] = mt_hp[i];
        xc[40 + i] = mt_wt[i];
    }
    for (size_t i = 32; i < 40; i++)
        xc[i] = xc[40 + i] = NAN;
    churn_model *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&a, xr, 32, 2, CHURN_LOGIT_ROW_MAJOR, 5, mt_am, NULL, names, NULL),
        CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&b, xc, 32, 2, CHURN_LOGIT_COL_MAJOR, 40, mt_am, NULL, names, NULL),
        CHURN_OK);
    double pa[3], pb[3];
    churn_model_params(a, pa, 3);
    churn_model_params(b, pb, 3);
    for (int j = 0; j < 3; j++)
        CT_CLOSE(pa[j], pb[j], 1e-12);
    /* R: 18.86629871720411, 0.03625559608221654, -8.08347518244463 (glm_binomial.csv) */
    CT_CLOSE(pa[0], 18.86629871720411, 1e-6);
    CT_CLOSE(pa[2], -8.08347518244463, 1e-6);
    /* default names without feature_names */
    churn_model *c = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&c, xc, 32, 2, CHURN_LOGIT_COL_MAJOR, 40, mt_am, NULL, NULL, NULL),
        CHURN_OK);
    CU_ASSERT_STRING_EQUAL(churn_model_param_name(c, 1), "x1");
    CU_ASSERT_STRING_EQUAL(churn_model_feature_name(c, 1), "x2");
    /* predictions agree across layouts */
    double p1[32], p2[32], e1[32];
    CU_ASSERT_EQUAL(churn_logit_predict(a, xr, 32, 2, CHURN_LOGIT_ROW_MAJOR, 5, p1, e1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_logit_predict(a, xc, 32, 2, CHURN_LOGIT_COL_MAJOR, 40, p2, NULL),
                    CHURN_OK);
    for (int i = 0; i < 32; i++) {
        CU_ASSERT_EQUAL(p1[i], p2[i]);
        CT_CLOSE(p1[i], 1 / (1 + exp(-e1[i])), 1e-14);
    }
    churn_model_free(a);
    churn_model_free(b);
    churn_model_free(c);
}

static void test_contributions_and_files(void)
{
    const char *names[] = {"hp", "wt"};
    double x[64];
    for (int i = 0; i < 32; i++) {
        x[2 * i] = mt_hp[i];
        x[2 * i + 1] = mt_wt[i];
    }
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.penalty = CHURN_LOGIT_PENALTY_ELASTICNET;
    o.lambda = 0.01;
    o.alpha = 0.3;
    o.standardize = 1;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&m, x, 32, 2, CHURN_LOGIT_ROW_MAJOR, 0, mt_am, NULL, names, &o), CHURN_OK);
    double eta[32], pr[32], contrib[64], base = 0;
    CU_ASSERT_EQUAL(churn_logit_predict(m, x, 32, 2, 0, 0, pr, eta), CHURN_OK);
    CU_ASSERT_EQUAL(churn_logit_contributions(m, x, 32, 2, 0, 0, contrib, &base), CHURN_OK);
    double b[3], mhp = 0, mwt = 0;
    churn_model_params(m, b, 3);
    for (int i = 0; i < 32; i++) {
        mhp += mt_hp[i] / 32;
        mwt += mt_wt[i] / 32;
    }
    /* baseline = log-odds of the mean customer */
    CT_CLOSE(base, b[0] + b[1] * mhp + b[2] * mwt, 1e-12);
    for (int i = 0; i < 32; i++) {
        CT_CLOSE(base + contrib[2 * i] + contrib[2 * i + 1], eta[i], 1e-10);
        CT_CLOSE(contrib[2 * i + 1], b[2] * (mt_wt[i] - mwt), 1e-12);
    }
    /* save/load: identical predictions and contributions */
    char path[512];
    snprintf(path, sizeof path, "%s/test_logit_model.json", churn_test_tmp_dir());
    CU_ASSERT_EQUAL_FATAL(churn_model_save(m, path), CHURN_OK);
    churn_model *l = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&l, path), CHURN_OK);
    remove(path);
    double eta2[32], pr2[32], contrib2[64], base2 = 0;
    CU_ASSERT_EQUAL(churn_logit_predict(l, x, 32, 2, 0, 0, pr2, eta2), CHURN_OK);
    CU_ASSERT_EQUAL(churn_logit_contributions(l, x, 32, 2, 0, 0, contrib2, &base2), CHURN_OK);
    CU_ASSERT(memcmp(pr, pr2, sizeof pr) == 0);
    CU_ASSERT(memcmp(eta, eta2, sizeof eta) == 0);
    CU_ASSERT(memcmp(contrib, contrib2, sizeof contrib) == 0);
    CU_ASSERT_EQUAL(base, base2);
    churn_logit_summary s1;
    memset(&s1, 0, sizeof s1);
    s1.struct_size = sizeof s1;
    churn_logit_summary s2;
    memset(&s2, 0, sizeof s2);
    s2.struct_size = sizeof s2;
    churn_logit_summary_get(m, &s1);
    churn_logit_summary_get(l, &s2);
    CU_ASSERT_EQUAL(s1.deviance, s2.deviance);
    CU_ASSERT_EQUAL(s2.penalty, CHURN_LOGIT_PENALTY_ELASTICNET);
    CU_ASSERT_EQUAL(s2.alpha, 0.3);
    CU_ASSERT_EQUAL(s2.standardize, 1);
    churn_model_free(l);
    churn_model_free(m);

    /* unpenalised: the covariance survives the file */
    CU_ASSERT_EQUAL_FATAL(
        churn_logit_fit(&m, x, 32, 2, CHURN_LOGIT_ROW_MAJOR, 0, mt_am, NULL, names, NULL),
        CHURN_OK);
    size_t need = 0;
    CU_ASSERT_EQUAL(churn_model_save_buffer(m, NULL, 0, &need), CHURN_ERANGE);
    char *buf = malloc(need);
    CU_ASSERT_EQUAL(churn_model_save_buffer(m, buf, need, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load_buffer(&l, buf, strlen(buf)), CHURN_OK);
    free(buf);
    churn_logit_term t1;
    memset(&t1, 0, sizeof t1);
    t1.struct_size = sizeof t1;
    churn_logit_term t2;
    memset(&t2, 0, sizeof t2);
    t2.struct_size = sizeof t2;
    churn_logit_term_get(m, 2, &t1);
    churn_logit_term_get(l, 2, &t2);
    CU_ASSERT_EQUAL(t1.std_error, t2.std_error);
    CU_ASSERT_EQUAL(t1.p_value, t2.p_value);
    churn_model_free(l);
    churn_model_free(m);
}

/* Intercept-only (p = 0): b0 = logit(ybar), SE = 1/sqrt(n ybar (1 - ybar)).
 * No intercept with an explicit column of ones: the same fit as with one. */
static void test_intercept_forms(void)
{
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&m, NULL, 32, 0, 0, 0, mt_am, NULL, NULL, NULL),
                          CHURN_OK);
    double ybar = 13.0 / 32, b0, se;
    CU_ASSERT_EQUAL(churn_model_param(m, "(Intercept)", &b0, &se), CHURN_OK);
    CT_CLOSE(b0, log(ybar / (1 - ybar)), 1e-12);
    CT_CLOSE(se, 1 / sqrt(32 * ybar * (1 - ybar)), 1e-9);
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    churn_logit_summary_get(m, &s);
    CT_CLOSE(s.deviance, s.null_deviance, 1e-12);
    churn_model_free(m);

    double x1[96], x2[64];
    const char *n1[] = {"one", "hp", "wt"};
    for (int i = 0; i < 32; i++) {
        x1[3 * i] = 1;
        x1[3 * i + 1] = x2[2 * i] = mt_hp[i];
        x1[3 * i + 2] = x2[2 * i + 1] = mt_wt[i];
    }
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.intercept = 0;
    churn_model *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&a, x1, 32, 3, 0, 0, mt_am, NULL, n1, &o), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&b, x2, 32, 2, 0, 0, mt_am, NULL, NULL, NULL),
                          CHURN_OK);
    double pa[4], pb[3], sa[4], sb[3];
    churn_model_params(a, pa, 4);
    churn_model_params(b, pb, 3);
    churn_model_std_errors(a, sa, 4);
    churn_model_std_errors(b, sb, 3);
    CU_ASSERT_EQUAL(pa[0], 0.0); /* no intercept estimated */
    CU_ASSERT(isnan(sa[0]));
    for (int j = 0; j < 3; j++) {
        CT_CLOSE(pa[1 + j], pb[j], 1e-9);
        CT_CLOSE(sa[1 + j], sb[j], 1e-7);
    }
    churn_logit_summary sa_, sb_;
    memset(&sa_, 0, sizeof sa_);
    memset(&sb_, 0, sizeof sb_);
    sa_.struct_size = sb_.struct_size = sizeof sa_;
    churn_logit_summary_get(a, &sa_);
    churn_logit_summary_get(b, &sb_);
    CT_CLOSE(sa_.deviance, sb_.deviance, 1e-12);
    CT_CLOSE(sa_.aic, sb_.aic, 1e-12);
    CU_ASSERT_EQUAL(sa_.intercept, 0);
    churn_model_free(a);
    churn_model_free(b);
}

/* ---- degenerate data ---------------------------------------------------------------- */

/* Separation found when the Newton system turns singular (not by the first
 * check): with 6 rows and 5 coefficients a combination of the columns splits
 * the labels. In note mode the fit must stop there and return the last iterate
 * with the separation named once; an earlier split of the optimiser went on
 * iterating, repeated the note and could end in "X'WX became singular". */
static void test_separation_in_newton(void)
{
    const double x[24] = {1, 0, 2, -2, 2, 1, -2, -1, 3, 1, -3, -1,
                          -1, -1, 3, -1, -3, 3, 1, -2, -2, -2, 3, 2};
    const double y[6] = {0, 0, 1, 1, 1, 0};
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.separation = CHURN_LOGIT_SEPARATION_NOTE;
    o.max_iter = 52;
    churn_model *m = NULL;
    int rc = churn_logit_fit(&m, x, 6, 4, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, NULL, &o);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_converged(m), 0);
    const char *note = churn_model_note(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(note);
    const char *first = strstr(note, "complete separation");
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_PTR_NULL(strstr(first + 1, "complete separation"));
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    churn_logit_summary_get(m, &s);
    CU_ASSERT_EQUAL(s.separated, 1);
    double b[5];
    CU_ASSERT_EQUAL(churn_model_params(m, b, 5), CHURN_OK);
    for (int j = 0; j < 5; j++)
        CU_ASSERT(isfinite(b[j]));
    churn_model_free(m);
}

static void test_separation(void)
{
    /* complete: 'spend' > 50 <=> churned; 'noise' is unrelated */
    double x[40], y[20];
    const char *names[] = {"noise", "spend"};
    for (int i = 0; i < 20; i++) {
        x[2 * i] = (double)((i * 7) % 5);
        x[2 * i + 1] = 10.0 + 5.0 * i;
        y[i] = x[2 * i + 1] > 50;
    }
    churn_model *m = NULL;
    int rc = churn_logit_fit(&m, x, 20, 2, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, names, NULL);
    CU_ASSERT_EQUAL(rc, CHURN_ESEPARATION);
    CU_ASSERT_PTR_NULL(m);
    const char *msg = churn_last_error_message();
    CU_ASSERT(strstr(msg, "complete separation") != NULL);
    CU_ASSERT(strstr(msg, "'spend'") != NULL);
    CU_ASSERT(strstr(msg, "'noise'") == NULL);
    printf("\n  message: %s\n", msg);

    /* note mode: a model, not converged, the same words in the note */
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.separation = CHURN_LOGIT_SEPARATION_NOTE;
    rc = churn_logit_fit(&m, x, 20, 2, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, names, &o);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_converged(m), 0);
    CU_ASSERT(strstr(churn_model_note(m), "'spend'") != NULL);
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    churn_logit_summary_get(m, &s);
    CU_ASSERT_EQUAL(s.separated, 1);
    double b[3];
    churn_model_params(m, b, 3);
    CU_ASSERT(isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]));
    churn_model_free(m);

    /* a penalty gives a finite optimum */
    churn_logit_options_init(&o);
    o.penalty = CHURN_LOGIT_PENALTY_L2;
    o.lambda = 0.01;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 20, 2, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, names, &o),
                    CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_converged(m), 1);
    churn_model_free(m);

    /* quasi-complete: every 'promo' = 1 customer churned; promo = 0 mixed */
    double xq[60], yq[30];
    const char *nq[] = {"promo", "tenure"};
    for (int i = 0; i < 30; i++) {
        xq[2 * i] = i < 8 ? 1 : 0;
        xq[2 * i + 1] = (double)((i * 11) % 13);
        yq[i] = i < 8 ? 1 : (i % 3 == 0);
    }
    rc = churn_logit_fit(&m, xq, 30, 2, CHURN_LOGIT_ROW_MAJOR, 0, yq, NULL, nq, NULL);
    CU_ASSERT_EQUAL(rc, CHURN_ESEPARATION);
    msg = churn_last_error_message();
    CU_ASSERT(strstr(msg, "quasi-complete separation") != NULL);
    CU_ASSERT(strstr(msg, "'promo'") != NULL);
    CU_ASSERT(strstr(msg, "'tenure'") == NULL);
    printf("  message: %s\n", msg);

    /* neither column alone separates, their sum does; 'noise' is not named */
    double xs[3 * 40], ys[40];
    const char *ns[] = {"a", "noise", "b"};
    for (int i = 0; i < 40; i++) {
        xs[3 * i] = 3 * sin(i * 1.7);
        xs[3 * i + 1] = (double)(i * 37 % 11);
        xs[3 * i + 2] = 2 * cos(i * 0.9);
        ys[i] = xs[3 * i] + xs[3 * i + 2] > 0.3;
    }
    rc = churn_logit_fit(&m, xs, 40, 3, CHURN_LOGIT_ROW_MAJOR, 0, ys, NULL, ns, NULL);
    CU_ASSERT_EQUAL(rc, CHURN_ESEPARATION);
    msg = churn_last_error_message();
    CU_ASSERT(strstr(msg, "'a'") && strstr(msg, "'b'") && !strstr(msg, "'noise'"));
    printf("  message: %s\n", msg);
}

static void test_collinear_and_constant(void)
{
    /* 'total' = hp + 2 wt exactly */
    double x[32 * 3];
    const char *names[] = {"hp", "wt", "total"};
    for (int i = 0; i < 32; i++) {
        x[3 * i] = mt_hp[i];
        x[3 * i + 1] = mt_wt[i];
        x[3 * i + 2] = mt_hp[i] + 2 * mt_wt[i];
    }
    churn_model *m = NULL;
    int rc = churn_logit_fit(&m, x, 32, 3, CHURN_LOGIT_ROW_MAJOR, 0, mt_am, NULL, names, NULL);
    CU_ASSERT_EQUAL(rc, CHURN_ENUMERIC);
    CU_ASSERT_PTR_NULL(m);
    const char *msg = churn_last_error_message();
    printf("\n  message: %s\n", msg);
    CU_ASSERT(strstr(msg, "collinear") != NULL);
    CU_ASSERT(strstr(msg, "'hp'") && strstr(msg, "'wt'") && strstr(msg, "'total'"));
    /* ridge resolves it */
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.penalty = CHURN_LOGIT_PENALTY_L2;
    o.lambda = 0.001;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 3, 0, 0, mt_am, NULL, names, &o), CHURN_OK);
    churn_model_free(m);

    /* a constant column is dropped with a note; the fit equals the fit without it */
    double xc[32 * 3], x2[64];
    const char *nc[] = {"hp", "region", "wt"};
    for (int i = 0; i < 32; i++) {
        xc[3 * i] = x2[2 * i] = mt_hp[i];
        xc[3 * i + 1] = 4.0;
        xc[3 * i + 2] = x2[2 * i + 1] = mt_wt[i];
    }
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&m, xc, 32, 3, 0, 0, mt_am, NULL, nc, NULL), CHURN_OK);
    CU_ASSERT(strstr(churn_model_note(m), "'region'") != NULL);
    churn_model *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&ref, x2, 32, 2, 0, 0, mt_am, NULL, NULL, NULL),
                          CHURN_OK);
    double b[4], br[3], se[4], ser[3];
    churn_model_params(m, b, 4);
    churn_model_params(ref, br, 3);
    churn_model_std_errors(m, se, 4);
    churn_model_std_errors(ref, ser, 3);
    CT_CLOSE(b[0], br[0], 1e-10);
    CT_CLOSE(b[1], br[1], 1e-10);
    CU_ASSERT_EQUAL(b[2], 0.0);
    CU_ASSERT(isnan(se[2]));
    CT_CLOSE(b[3], br[2], 1e-10);
    CT_CLOSE(se[3], ser[2], 1e-9);
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    churn_logit_summary_get(m, &s);
    CU_ASSERT_EQUAL(s.dropped, 1);
    CU_ASSERT_EQUAL(s.rank, 3);
    /* the dropped column still has to be finite at prediction */
    double pr[32];
    CU_ASSERT_EQUAL(churn_logit_predict(m, xc, 32, 3, 0, 0, pr, NULL), CHURN_OK);
    churn_model_free(m);
    churn_model_free(ref);
}

static void test_errors(void)
{
    const char *names[] = {"hp", "wt"};
    double x[64], y[32], w[32];
    for (int i = 0; i < 32; i++) {
        x[2 * i] = mt_hp[i];
        x[2 * i + 1] = mt_wt[i];
        y[i] = mt_am[i];
        w[i] = 1;
    }
    churn_model *m = (churn_model *)1;
    x[2 * 5 + 1] = NAN;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y, NULL, names, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(m);
    const char *msg = churn_last_error_message();
    CU_ASSERT(strstr(msg, "row index 5") && strstr(msg, "'wt'"));
    x[2 * 5 + 1] = mt_wt[5];
    y[7] = 2;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y, NULL, names, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row index 7") != NULL);
    y[7] = mt_am[7];
    w[3] = -1;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y, w, names, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row index 3") != NULL);
    w[3] = 1;
    /* leading dimension too small for the layout */
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, CHURN_LOGIT_ROW_MAJOR, 1, y, NULL, names, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "ld") != NULL);
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, CHURN_LOGIT_COL_MAJOR, 31, y, NULL, names, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 7, 0, y, NULL, names, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "layout") != NULL);
    /* options are named */
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.lambda = 0.1;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y, NULL, names, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'lambda'") != NULL);
    o.penalty = CHURN_LOGIT_PENALTY_ELASTICNET;
    o.alpha = 1.5;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y, NULL, names, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'alpha'") != NULL);
    /* one class only */
    double y1[32];
    for (int i = 0; i < 32; i++)
        y1[i] = 1;
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y1, NULL, names, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "one class") != NULL);
    /* an older, shorter options struct gets defaults for the rest */
    struct {
        size_t struct_size;
        int penalty;
        double lambda;
    } old = {sizeof old, CHURN_LOGIT_PENALTY_L2, 0.01};
    CU_ASSERT_EQUAL(churn_logit_fit(&m, x, 32, 2, 0, 0, y, NULL, names,
                                    (const churn_logit_options *)(const void *)&old),
                    CHURN_OK);
    /* prediction: wrong width, NaN named, wrong family */
    double pr[32];
    CU_ASSERT_EQUAL(churn_logit_predict(m, x, 32, 3, 0, 0, pr, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "p = 3") != NULL);
    x[2 * 9] = INFINITY;
    CU_ASSERT_EQUAL(churn_logit_predict(m, x, 32, 2, 0, 0, pr, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row index 9") &&
              strstr(churn_last_error_message(), "'hp'"));
    churn_logit_term t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    CU_ASSERT_EQUAL(churn_logit_term_get(m, 3, &t), CHURN_ERANGE);
    churn_model_free(m);
    CU_ASSERT_EQUAL(churn_logit_predict(NULL, x, 32, 2, 0, 0, pr, NULL), CHURN_EINVAL);
}

/* ---- cross-validation ------------------------------------------------------------------ */

static void test_cv(void)
{
    const char *names[] = {"hp", "wt"};
    double x[64];
    for (int i = 0; i < 32; i++) {
        x[2 * i] = mt_hp[i];
        x[2 * i + 1] = mt_wt[i];
    }
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.penalty = CHURN_LOGIT_PENALTY_L1;
    o.standardize = 1;
    churn_logit_cv_options co;
    churn_logit_cv_options_init(&co);
    co.nlambda = 12;
    co.nfolds = 4;
    co.seed = 42;
    churn_logit_cv *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_logit_cross_validate(&a, x, 32, 2, 0, 0, mt_am, NULL, names, &o,
                                                     &co),
                          CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_logit_cross_validate(&b, x, 32, 2, 0, 0, mt_am, NULL, names, &o,
                                                     &co),
                          CHURN_OK);
    CU_ASSERT_EQUAL(churn_logit_cv_num_lambda(a), 12);
    double la[12], ma[12], sa[12], lb[12], mb[12], sb[12];
    churn_logit_cv_path(a, la, ma, sa, 12);
    churn_logit_cv_path(b, lb, mb, sb, 12);
    /* deterministic for a seed */
    CU_ASSERT(memcmp(ma, mb, sizeof ma) == 0);
    CU_ASSERT(memcmp(sa, sb, sizeof sa) == 0);
    /* lambda_max in closed form for the lasso on standardised features:
     * max_j |sum_i z_ij (y_i - ybar)| / n (Friedman et al. 2010, sec. 2.5) */
    double ybar = 0;
    for (int i = 0; i < 32; i++)
        ybar += mt_am[i] / 32;
    double lmax = 0;
    for (int j = 0; j < 2; j++) {
        double mu = 0, v = 0, s = 0;
        for (int i = 0; i < 32; i++)
            mu += x[2 * i + j] / 32;
        for (int i = 0; i < 32; i++)
            v += (x[2 * i + j] - mu) * (x[2 * i + j] - mu) / 32;
        for (int i = 0; i < 32; i++)
            s += (x[2 * i + j] - mu) / sqrt(v) * (mt_am[i] - ybar);
        if (fabs(s) / 32 > lmax)
            lmax = fabs(s) / 32;
    }
    CT_CLOSE(la[0], lmax, 1e-10);
    CT_CLOSE(la[11], lmax * 1e-4, 1e-10);
    /* at lambda_max every coefficient is 0; just below it one enters */
    churn_model *m = NULL;
    o.lambda = la[0] * (1 + 1e-9);
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&m, x, 32, 2, 0, 0, mt_am, NULL, names, &o), CHURN_OK);
    double bb[3];
    churn_model_params(m, bb, 3);
    CU_ASSERT(bb[1] == 0 && bb[2] == 0);
    CT_CLOSE(bb[0], log(ybar / (1 - ybar)), 1e-9);
    churn_model_free(m);
    o.lambda = la[0] * 0.95;
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&m, x, 32, 2, 0, 0, mt_am, NULL, names, &o), CHURN_OK);
    churn_model_params(m, bb, 3);
    CU_ASSERT(bb[1] != 0 || bb[2] != 0);
    churn_model_free(m);
    double lmin = churn_logit_cv_lambda_min(a), l1se = churn_logit_cv_lambda_1se(a);
    CU_ASSERT(l1se >= lmin);
    size_t imin = 0;
    for (size_t l = 0; l < 12; l++)
        if (la[l] == lmin)
            imin = l;
    for (size_t l = 0; l < 12; l++)
        CU_ASSERT(ma[l] >= ma[imin]);
    churn_logit_cv_free(a);
    churn_logit_cv_free(b);

    /* leave-one-out (K = n) for ridge: the CV mean deviance at each lambda
     * equals the mean of the held-out deviances of n separate fits */
    o.penalty = CHURN_LOGIT_PENALTY_L2;
    o.standardize = 0;
    co.nfolds = 32;
    co.nlambda = 4;
    co.lambda_min_ratio = 1e-3;
    CU_ASSERT_EQUAL_FATAL(churn_logit_cross_validate(&a, x, 32, 2, 0, 0, mt_am, NULL, names, &o,
                                                     &co),
                          CHURN_OK);
    churn_logit_cv_path(a, la, ma, sa, 4);
    for (size_t l = 1; l < 4; l += 2) {
        double w[32], tot = 0;
        o.lambda = la[l];
        for (int h = 0; h < 32; h++) {
            for (int i = 0; i < 32; i++)
                w[i] = i == h ? 0 : 1;
            CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&m, x, 32, 2, 0, 0, mt_am, w, names, &o),
                                  CHURN_OK);
            double eta;
            churn_logit_predict(m, x + 2 * h, 1, 2, 0, 0, NULL, &eta);
            double pr = 1 / (1 + exp(-eta));
            tot += -2 * (mt_am[h] ? log(pr) : log(1 - pr));
            churn_model_free(m);
        }
        CT_CLOSE(ma[l], tot / 32, 1e-7);
    }
    churn_logit_cv_free(a);

    /* AUC metric: values in [0, 1], chosen lambda maximises it */
    co.nfolds = 3;
    co.nlambda = 8;
    co.metric = CHURN_LOGIT_CV_AUC;
    CU_ASSERT_EQUAL_FATAL(churn_logit_cross_validate(&a, x, 32, 2, 0, 0, mt_am, NULL, names, &o,
                                                     &co),
                          CHURN_OK);
    churn_logit_cv_path(a, la, ma, sa, 8);
    for (size_t l = 0; l < 8; l++)
        CU_ASSERT(ma[l] >= 0 && ma[l] <= 1);
    CU_ASSERT_EQUAL(churn_logit_cv_metric_used(a), CHURN_LOGIT_CV_AUC);
    churn_logit_cv_free(a);
    /* errors name the option */
    co.nfolds = 1;
    CU_ASSERT_EQUAL(churn_logit_cross_validate(&a, x, 32, 2, 0, 0, mt_am, NULL, names, &o, &co),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'nfolds'") != NULL);
    o.penalty = CHURN_LOGIT_PENALTY_NONE;
    co.nfolds = 5;
    CU_ASSERT_EQUAL(churn_logit_cross_validate(&a, x, 32, 2, 0, 0, mt_am, NULL, names, &o, &co),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'penalty'") != NULL);
}

/* ---- allocation failures ----------------------------------------------------------------- */

static long g_live, g_fail_at, g_count;

static void *failing_alloc(void *ud, void *ptr, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        if (ptr)
            g_live--;
        free(ptr);
        return NULL;
    }
    if (g_count++ == g_fail_at)
        return NULL;
    void *q = realloc(ptr, nsize);
    if (q && !ptr)
        g_live++;
    return q;
}

/* Fail the k-th allocation for k = 0, 1, ...: every failure is CHURN_ENOMEM
 * and leaves no block behind, until the call succeeds. */
static void test_out_of_memory(void)
{
    const char *names[] = {"hp", "region", "wt"};
    double x[96];
    for (int i = 0; i < 32; i++) {
        x[3 * i] = mt_hp[i];
        x[3 * i + 1] = 1;
        x[3 * i + 2] = mt_wt[i];
    }
    for (int which = 0; which < 3; which++) {
        int done = 0;
        for (long k = 0; k < 5000 && !done; k++) {
            g_live = 0;
            g_count = 0;
            g_fail_at = k;
            churn_set_allocator(failing_alloc, NULL);
            int rc;
            churn_model *m = NULL;
            churn_logit_cv *cv = NULL;
            churn_logit_options o;
            churn_logit_options_init(&o);
            if (which == 0) {
                rc = churn_logit_fit(&m, x, 32, 3, 0, 0, mt_am, NULL, names, NULL);
            } else if (which == 1) {
                o.penalty = CHURN_LOGIT_PENALTY_L1;
                o.lambda = 0.01;
                rc = churn_logit_fit(&m, x, 32, 3, 0, 0, mt_am, NULL, NULL, &o);
            } else {
                churn_logit_cv_options co;
                churn_logit_cv_options_init(&co);
                co.nlambda = 3;
                co.nfolds = 3;
                o.penalty = CHURN_LOGIT_PENALTY_L2;
                rc = churn_logit_cross_validate(&cv, x, 32, 3, 0, 0, mt_am, NULL, names, &o, &co);
            }
            if (rc == CHURN_OK) {
                done = 1;
                churn_model_free(m);
                churn_logit_cv_free(cv);
            } else {
                CU_ASSERT_EQUAL(rc, CHURN_ENOMEM);
                CU_ASSERT_PTR_NULL(m);
                CU_ASSERT_PTR_NULL(cv);
            }
            CU_ASSERT_EQUAL(g_live, 0);
            churn_set_allocator(NULL, NULL);
        }
        CU_ASSERT(done);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"glm mtcars am ~ hp + wt", test_glm_mtcars},
        {"glm infert (two models)", test_glm_infert},
        {"glm breast_cancer subset", test_glm_breast_subset},
        {"glm weighted (balanced)", test_glm_weighted},
        {"sklearn L2 exact optimum", test_sklearn_exact},
        {"glmnet ridge, lasso, elastic net", test_glmnet},
        {"standardize on raw data", test_standardize_raw},
        {"layouts and leading dimensions", test_layouts},
        {"contributions and model files", test_contributions_and_files},
        {"intercept-only and no-intercept fits", test_intercept_forms},
        {"separation", test_separation},
        {"separation found by Newton", test_separation_in_newton},
        {"collinearity and constant columns", test_collinear_and_constant},
        {"errors", test_errors},
        {"cross-validation", test_cv},
        {"allocation failures", test_out_of_memory},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("logit", tests);
}
