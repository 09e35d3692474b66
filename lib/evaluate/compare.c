/*
 * The time-split comparison of churn models (metrics.h): split a
 * transaction log at a cutoff into a customer table with holdout labels, fit
 * each model family asked for (BTYD directly, the supervised ones by
 * K-fold cross-fitting), score every customer's out-of-sample churn
 * probability and measure it against the holdout.
 *
 * It sits above every model stage: calls core/, data/ (the customer table),
 * btyd/, regression/ and survival/ through their public functions, and
 * metrics.c (AUC, log loss, Brier, lift) of this stage. Nothing in evaluate/
 * calls it.
 */
#include "core/internal.h"

#include <stdio.h>

static const char compare_fn[] = "churn_metrics_compare";

typedef struct cmp_entry {
    char name[16];
    int family;
    int status;          /* CHURN_OK, CHURN_ENOCONV, or the failure */
    char *note;          /* "" or a message */
    churn_model *model;  /* fitted on all customers, or NULL */
    double *p_churn;     /* n out-of-sample churn probabilities, or NULL */
    double auc, log_loss, brier, top_lift, mae;
} cmp_entry;

struct churn_comparison {
    churn_customers *table;
    size_t n;
    double holdout_length;
    size_t nmodels;
    cmp_entry *m;
};

CHURN_API void churn_comparison_options_init(churn_comparison_options *opts)
{
    if (opts) {
        churn_comparison_options d = CHURN_COMPARISON_OPTIONS_INIT;
        *opts = d;
    }
}

CHURN_API void churn_comparison_free(churn_comparison *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nmodels; i++) {
        churn__free(c->m[i].note);
        churn_model_free(c->m[i].model);
        churn__free(c->m[i].p_churn);
    }
    churn__free(c->m);
    churn_customers_free(c->table);
    churn__free(c);
}

/* Split a comma-separated list into at most `cap` trimmed names written into
 * `buf` (a copy of the list); returns the count, or SIZE_MAX on an empty item. */
static size_t split_list(char *buf, char **items, size_t cap)
{
    size_t k = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        while (len && p[len - 1] == ' ')
            p[--len] = '\0';
        if (len == 0)
            return SIZE_MAX;
        if (k < cap)
            items[k] = p;
        k++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return k;
}

static int is_btyd(int f)
{
    return f == CHURN_FAMILY_BGNBD || f == CHURN_FAMILY_MBGNBD || f == CHURN_FAMILY_PNBD;
}

static int is_survival(int f)
{
    return f == CHURN_FAMILY_COX || f == CHURN_FAMILY_WEIBULL || f == CHURN_FAMILY_EXPONENTIAL ||
           f == CHURN_FAMILY_LOGLOGISTIC || f == CHURN_FAMILY_LOGNORMAL;
}

/* Keep the library's current error message as the model's note. */
static int set_note(cmp_entry *e, int status, const char *fallback)
{
    const char *msg = churn_last_error_message();
    churn__free(e->note);
    e->note = churn__strdup(*msg ? msg : fallback);
    e->status = status;
    return e->note ? CHURN_OK : churn__nomem("a comparison note");
}

/* splitmix64 (Steele, Lea & Flood 2014): a small, well-mixed generator for
 * the fold shuffle; the fold assignment only needs to be reproducible. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct sup_data {
    size_t n, p;
    const double *x;         /* n*p row-major features */
    const char *const *names;
    const double *label;     /* churned */
    const double *duration, *event;
    double horizon;          /* holdout length, model units */
    const unsigned char *fit_ok; /* rows the fits may use; NULL = all (see FIT_MAX) */
} sup_data;

/* A feature beyond this magnitude cannot be used by a fit: standardising and the
 * Newton steps square it, and the square overflows a double. Such customers are
 * left out of the supervised fits (named in the note) and still scored. */
#define FIT_MAX 1e150

/* Fit a supervised model on rows `rows[0..m)` (NULL = all n rows). */
static int sup_fit(churn_model **out, int family, const sup_data *d, const size_t *rows, size_t m,
                   double *xs, double *ys, double *ds, double *es)
{
    const double *x = d->x, *y = d->label, *dur = d->duration, *ev = d->event;
    if (rows) {
        for (size_t r = 0; r < m; r++) {
            size_t i = rows[r];
            memcpy(xs + r * d->p, d->x + i * d->p, d->p * sizeof *xs);
            ys[r] = d->label[i];
            ds[r] = d->duration[i];
            es[r] = d->event[i];
        }
        x = xs;
        y = ys;
        dur = ds;
        ev = es;
    }
    if (family == CHURN_FAMILY_LOGIT)
        return churn_logit_fit(out, x, m, d->p, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, d->names,
                               NULL);
    if (family == CHURN_FAMILY_COX)
        return churn_cox_fit(out, m, d->p, x, d->names, dur, ev, NULL, NULL);
    return churn_aft_fit(out, family, m, d->p, x, d->names, dur, ev, NULL, NULL);
}

/* Churn probabilities of rows `rows[0..m)` from a supervised model. */
static int sup_predict(const churn_model *model, int family, const sup_data *d,
                       const size_t *rows, size_t m, double *xs, double *p_out)
{
    for (size_t r = 0; r < m; r++)
        memcpy(xs + r * d->p, d->x + rows[r] * d->p, d->p * sizeof *xs);
    if (family == CHURN_FAMILY_LOGIT)
        return churn_logit_predict(model, xs, m, d->p, CHURN_LOGIT_ROW_MAJOR, 0, p_out, NULL);
    return churn_surv_predict(model, m, xs, d->horizon, NULL, p_out, NULL);
}

/* Cross-fitted scores of a supervised model, and its fit on all rows. */
static int score_supervised(cmp_entry *e, const sup_data *d, size_t folds, uint64_t seed)
{
    size_t n = d->n, p = d->p;
    size_t *perm = churn__malloc(churn__mul_size(n, sizeof *perm));
    size_t *rows = churn__malloc(churn__mul_size(n, sizeof *rows));
    double *xs = churn__malloc(churn__mul_size(n, churn__mul_size(p, sizeof *xs)));
    double *col = churn__malloc(churn__mul_size(n, 4 * sizeof *col));
    double *pred = churn__malloc(churn__mul_size(n, sizeof *pred));
    int rc = CHURN_OK;
    if (!perm || !rows || !xs || !col || !pred) {
        rc = churn__nomem("the cross-fitting work arrays");
        goto done;
    }
    double *ys = col, *ds = col + n, *es = col + 2 * n, *pf = col + 3 * n;
    /* Fisher-Yates shuffle, then position mod K gives the fold. */
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t s = seed;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix64(&s) % (uint64_t)(i + 1));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int warn = CHURN_OK;
    /* K > 1: each fold is scored by a model fitted on the other folds; the rows of
     * `rows` are the training rows followed by the held-out ones. */
    for (size_t k = 0; folds > 1 && k < folds; k++) {
        size_t mtr = 0, mte = 0;
        for (size_t q = 0; q < n; q++)
            if (q % folds != k && (!d->fit_ok || d->fit_ok[perm[q]]))
                rows[mtr++] = perm[q];
        for (size_t q = 0; q < n; q++)
            if (q % folds == k)
                rows[mtr + mte++] = perm[q];
        churn_model *fm = NULL;
        rc = sup_fit(&fm, e->family, d, rows, mtr, xs, ys, ds, es);
        if (rc == CHURN_ENOCONV && fm) {
            warn = CHURN_ENOCONV;
            rc = CHURN_OK;
        }
        if (!rc)
            rc = sup_predict(fm, e->family, d, rows + mtr, mte, xs, pf);
        churn_model_free(fm);
        if (rc) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", churn_last_error_message());
            churn__error(rc, "fold %zu of %zu: %s", k + 1, folds, msg);
            goto done;
        }
        for (size_t r = 0; r < mte; r++)
            pred[rows[mtr + r]] = pf[r];
    }
    /* the model on all customers, for its parameters (and the scores when K = 1) */
    if (d->fit_ok) {
        size_t m = 0;
        for (size_t q = 0; q < n; q++)
            if (d->fit_ok[q])
                rows[m++] = q;
        rc = sup_fit(&e->model, e->family, d, rows, m, xs, ys, ds, es);
    } else {
        rc = sup_fit(&e->model, e->family, d, NULL, n, xs, ys, ds, es);
    }
    if (rc == CHURN_ENOCONV && e->model) {
        warn = CHURN_ENOCONV;
        rc = CHURN_OK;
    }
    if (!rc && folds == 1) {
        for (size_t q = 0; q < n; q++)
            rows[q] = q;
        rc = sup_predict(e->model, e->family, d, rows, n, xs, pred);
    }
    if (rc)
        goto done;
    e->p_churn = pred;
    pred = NULL;
    rc = warn;
    if (warn)
        churn__error(warn, "%s: a fit did not reach its convergence criterion", e->name);
done:
    churn__free(perm);
    churn__free(rows);
    churn__free(xs);
    churn__free(col);
    churn__free(pred);
    return rc;
}

static int score_btyd(cmp_entry *e, size_t n, const double *x, const double *tx, const double *T,
                      const double *holdout, double tau, double unit, int churn_score)
{
    int warn = CHURN_OK;
    int rc = churn_btyd_fit(&e->model, e->family, n, x, tx, T, NULL, NULL);
    if (rc == CHURN_ENOCONV && e->model) {
        warn = CHURN_ENOCONV;
        rc = CHURN_OK;
    }
    if (rc)
        return rc;
    if ((rc = churn_model_set_time_unit(e->model, unit)))
        return rc;
    double *pc = churn__malloc(churn__mul_size(n, sizeof *pc));
    double *ex = churn__malloc(churn__mul_size(n, sizeof *ex));
    if (!pc || !ex) {
        churn__free(pc);
        churn__free(ex);
        return churn__nomem("the BTYD scores");
    }
    if (churn_score == CHURN_BTYD_CHURN_NO_PURCHASE)
        rc = churn_btyd_prob_purchases_cond(e->model, 0.0, tau, n, x, tx, T, pc);
    else
        rc = churn_btyd_p_alive(e->model, n, x, tx, T, pc);
    if (!rc)
        rc = churn_btyd_expected_purchases(e->model, tau, n, x, tx, T, ex);
    if (rc) {
        churn__free(pc);
        churn__free(ex);
        return rc;
    }
    double abs_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (churn_score != CHURN_BTYD_CHURN_NO_PURCHASE)
            pc[i] = 1.0 - pc[i];
        /* guard the [0, 1] contract against rounding just outside it */
        pc[i] = pc[i] < 0.0 ? 0.0 : (pc[i] > 1.0 ? 1.0 : pc[i]);
        abs_err += fabs(ex[i] - holdout[i]);
    }
    churn__free(ex);
    e->p_churn = pc;
    e->mae = abs_err / (double)n;
    if (warn)
        churn__error(warn, "%s: the fit did not reach its convergence criterion", e->name);
    return warn;
}

static int score_metrics(cmp_entry *e, size_t n, const double *label, size_t lift_bins)
{
    int rc = churn_metrics_roc_auc(n, e->p_churn, label, NULL, &e->auc);
    if (!rc)
        rc = churn_metrics_log_loss(n, e->p_churn, label, NULL, &e->log_loss);
    if (!rc)
        rc = churn_metrics_brier(n, e->p_churn, label, NULL, &e->brier);
    if (!rc) {
        double *lift = churn__malloc(churn__mul_size(lift_bins, sizeof *lift));
        if (!lift)
            return churn__nomem("the lift table");
        rc = churn_metrics_lift_table(n, e->p_churn, label, NULL, lift_bins, NULL, NULL, NULL,
                                      lift, NULL, NULL);
        if (!rc)
            e->top_lift = lift[0];
        churn__free(lift);
    }
    return rc;
}

/* What one comparison holds while it is built: its options (defaults
 * resolved, the two lists included), the lists cut into names, the customer
 * table's columns of the BTYD models and the labels, and the supervised
 * models' data (whose duration and event columns come straight from the
 * table). The number of models is the comparison's nmodels. */
typedef struct compare_work {
    churn_comparison_options o;
    char *mbuf, *fbuf;      /* copies of the lists, cut into names */
    char **mnames, **fnames;
    size_t nf;
    int any_supervised;
    int default_features;   /* the caller named no features: unusable ones are dropped */
    char dropped[512];      /* "" or the note naming the default features dropped */
    char leftout[512];      /* "" or the note naming the customers the fits leave out */
    unsigned char *fit_ok;  /* NULL, or the customers the supervised fits may use */
    const double *freq, *rec, *age, *label, *hold;
    double *xrow;           /* n x nf feature matrix, row-major */
    sup_data d;
} compare_work;

static void compare_work_free(compare_work *w)
{
    churn__free(w->xrow);
    churn__free(w->fit_ok);
    churn__free(w->mbuf);
    churn__free(w->fbuf);
    churn__free(w->mnames);
    churn__free(w->fnames);
}

/* Copy and check the options; resolve the defaults. */
static int compare_settings(const churn_txlog *log, const churn_comparison_options *opts,
                            churn_comparison_options *o)
{
    const char *const fn = compare_fn;
    churn_comparison_options d = CHURN_COMPARISON_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_comparison_options");
    if (rc)
        return rc;
    if (!log)
        return churn__error(CHURN_EINVAL, "%s: 'log' is NULL", fn);
    if (!churn__finite(o->cutoff) || o->cutoff == 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'cutoff' is required", fn);
    if (!churn__finite(o->holdout_end) || o->holdout_end == 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'holdout_end' is required", fn);
    if (!churn__finite(o->time_unit) || o->time_unit < 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'time_unit' is %g (must be > 0)", fn,
                            o->time_unit);
    if (o->time_unit == 0.0)
        o->time_unit = CHURN_UNIT_WEEK;
    if (o->folds == 0)
        o->folds = 5;
    if (o->seed == 0)
        o->seed = 1;
    if (o->lift_bins == 0)
        o->lift_bins = 10;
    if (!o->models)
        o->models = "bgnbd,pnbd,logit,cox";
    if (!o->features)
        o->features = CHURN_COMPARISON_DEFAULT_FEATURES; /* see compare_features */
    if (o->btyd_churn != CHURN_BTYD_CHURN_NOT_ALIVE &&
        o->btyd_churn != CHURN_BTYD_CHURN_NO_PURCHASE)
        return churn__error(CHURN_EINVAL, "%s: option 'btyd_churn' is %d (must be 0 or 1)", fn,
                            o->btyd_churn);
    return CHURN_OK;
}

/* Cut the model and feature lists into names; allocate the entries. */
static int compare_lists(compare_work *w, churn_comparison *c)
{
    const char *const fn = compare_fn;
    size_t nm = split_list(w->mbuf, NULL, 0), nf = split_list(w->fbuf, NULL, 0);
    /* split_list wrote NULs on the first pass: copy again */
    strcpy(w->mbuf, w->o.models);
    strcpy(w->fbuf, w->o.features);
    if (nm == SIZE_MAX || nm == 0)
        return churn__error(CHURN_EINVAL, "%s: option 'models' \"%s\" has an empty name", fn,
                            w->o.models);
    if (nf == SIZE_MAX || nf == 0)
        return churn__error(CHURN_EINVAL, "%s: option 'features' \"%s\" has an empty name", fn,
                            w->o.features);
    w->mnames = churn__calloc(nm, sizeof *w->mnames);
    w->fnames = churn__calloc(nf, sizeof *w->fnames);
    c->m = churn__calloc(nm, sizeof *c->m);
    if (!w->mnames || !w->fnames || !c->m)
        return churn__nomem("the comparison");
    split_list(w->mbuf, w->mnames, nm);
    split_list(w->fbuf, w->fnames, nf);
    c->nmodels = nm;
    w->nf = nf;
    return CHURN_OK;
}

/* One entry per model name: its family (one the comparison can fit, listed
 * once), its name as the library spells it, an empty note. */
static int compare_entries(compare_work *w, churn_comparison *c)
{
    const char *const fn = compare_fn;
    for (size_t i = 0; i < c->nmodels; i++) {
        cmp_entry *e = &c->m[i];
        e->auc = e->log_loss = e->brier = e->top_lift = e->mae = NAN;
        int fam = 0;
        if (churn_family_from_name(w->mnames[i], &fam) != CHURN_OK ||
            !(is_btyd(fam) || is_survival(fam) || fam == CHURN_FAMILY_LOGIT))
            return churn__error(CHURN_EINVAL, "%s: model '%s' cannot be compared (use bgnbd, "
                                "mbgnbd, pnbd, logit, cox, weibull, exponential, loglogistic or "
                                "lognormal)", fn, w->mnames[i]);
        for (size_t j = 0; j < i; j++)
            if (c->m[j].family == fam)
                return churn__error(CHURN_EINVAL, "%s: model '%s' is listed twice", fn,
                                    w->mnames[i]);
        e->family = fam;
        snprintf(e->name, sizeof e->name, "%s", churn_family_name(fam));
        if (!(e->note = churn__strdup("")))
            return churn__nomem("a comparison note");
        w->any_supervised |= !is_btyd(fam);
    }
    return CHURN_OK;
}

/* The customer table at the cutoff, with holdout labels, and the columns
 * the models need; both classes must occur among the customers. */
static int compare_table(compare_work *w, churn_comparison *c, const churn_txlog *log)
{
    const char *const fn = compare_fn;
    churn_customer_options co = CHURN_CUSTOMER_OPTIONS_INIT;
    co.cutoff = w->o.cutoff;
    co.holdout_end = w->o.holdout_end;
    co.time_unit = w->o.time_unit;
    int rc = churn_customers_build(&c->table, log, &co);
    if (rc)
        return rc;
    size_t n = c->n = churn_customers_num_rows(c->table);
    c->holdout_length = (churn_customers_holdout_end(c->table) - churn_customers_cutoff(c->table)) /
                        CHURN_SECONDS_PER_DAY / w->o.time_unit;
    w->freq = churn_customers_column(c->table, "frequency");
    w->rec = churn_customers_column(c->table, "recency");
    w->age = churn_customers_column(c->table, "T");
    w->label = churn_customers_column(c->table, "churned");
    w->hold = churn_customers_column(c->table, "holdout_purchases");
    w->d.duration = churn_customers_column(c->table, "duration");
    w->d.event = churn_customers_column(c->table, "event");
    if (!w->freq || !w->rec || !w->age || !w->label || !w->hold || !w->d.duration ||
        !w->d.event)
        return churn_last_error_code() ? churn_last_error_code() : CHURN_ENOTFOUND;
    if (n < 2)
        return churn__error(CHURN_EINVAL, "%s: %zu customer(s) before the cutoff: nothing to "
                            "compare", fn, n);
    double churners = 0.0;
    for (size_t i = 0; i < n; i++)
        churners += w->label[i];
    if (churners == 0.0 || churners == (double)n)
        return churn__error(CHURN_EINVAL, "%s: %s of the %zu customers churned in the holdout: "
                            "AUC and lift are undefined with one class", fn,
                            churners == 0.0 ? "none" : "all", n);
    if (w->o.lift_bins > n)
        return churn__error(CHURN_EINVAL, "%s: option 'lift_bins' %zu exceeds the %zu customers",
                            fn, w->o.lift_bins, n);
    return CHURN_OK;
}

/* The supervised models' data: the feature matrix from the table's columns,
 * the labels and the survival outcome. Nothing to do with BTYD models only. */
/* The default features are the caller's only by default: one that is constant over the
 * customers (every customer acquired the same day gives one T) or a linear combination of
 * the features before it cannot be fitted, so it is dropped and named in w->dropped (a
 * feature the caller named is kept, and its fit fails with a message naming it). Modified
 * Gram-Schmidt on the centred columns: a column whose residual keeps less than 1e-10 of its
 * centred norm is dependent. */
static int drop_unusable_defaults(compare_work *w, size_t n)
{
    /* the note may already name monetary_value (compare_features): go on with it */
    size_t nf = w->nf, keep = 0, len = strlen(w->dropped);
    double *q = churn__malloc(churn__mul_size(n, churn__mul_size(nf, sizeof *q)));
    if (!q)
        return churn__nomem("the feature screen");
    /* over the customers the fits use (w->fit_ok) */
    const unsigned char *ok = w->fit_ok;
    size_t first = 0, m = 0;
    while (ok && first < n && !ok[first])
        first++;
    for (size_t i = 0; i < n; i++)
        m += !ok || ok[i];
    for (size_t j = 0; j < nf; j++) {
        double *v = q + keep * n, mean = 0, norm0 = 0, norm = 0;
        double lo = first < n ? w->xrow[first * nf + j] : 0, hi = lo;
        for (size_t i = 0; i < n; i++) {
            if (ok && !ok[i])
                continue;
            double x = w->xrow[i * nf + j];
            mean += x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        mean /= (double)(m ? m : 1);
        for (size_t i = 0; i < n; i++) {
            v[i] = ok && !ok[i] ? 0.0 : w->xrow[i * nf + j] - mean;
            norm0 += v[i] * v[i];
        }
        for (size_t k = 0; k < keep && norm0 > 0; k++) {
            const double *u = q + k * n;
            double dot = 0;
            for (size_t i = 0; i < n; i++)
                dot += u[i] * v[i];
            for (size_t i = 0; i < n; i++)
                v[i] -= dot * u[i];
        }
        for (size_t i = 0; i < n; i++)
            norm += v[i] * v[i];
        const char *why = lo == hi || !(norm0 > 0) || !isfinite(norm0) ? "constant"
                          : !(norm > 1e-10 * norm0)        ? "collinear with the features before it"
                                                           : NULL;
        if (why) {
            int k = snprintf(w->dropped + len, sizeof w->dropped - len, "%s'%s' (%s)",
                             len ? ", " : "default feature(s) dropped: ", w->fnames[j], why);
            len = k < 0 ? len : len + (size_t)k < sizeof w->dropped ? len + (size_t)k
                                                                    : sizeof w->dropped - 1;
            continue;
        }
        double inv = 1.0 / sqrt(norm);
        for (size_t i = 0; i < n; i++)
            v[i] *= inv;
        /* keep column j: move it to position `keep` of the matrix and of the names */
        for (size_t i = 0; i < n; i++)
            w->xrow[i * nf + keep] = w->xrow[i * nf + j];
        w->fnames[keep++] = w->fnames[j];
    }
    churn__free(q);
    if (keep < nf) {
        /* repack the rows to the kept width */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < keep; j++)
                w->xrow[i * keep + j] = w->xrow[i * nf + j];
        w->nf = keep;
        snprintf(w->dropped + len, sizeof w->dropped - len, "; name them in 'features' to "
                 "keep them");
    }
    if (keep == 0)
        return churn__error(CHURN_EINVAL, "%s: every default feature is constant or collinear "
                            "over these customers (%s): name the features to use", compare_fn,
                            w->dropped);
    return CHURN_OK;
}

/* Customers with a feature beyond FIT_MAX in magnitude: left out of the supervised fits
 * (w->fit_ok), counted and the first named in w->dropped. Too few left: an error. */
static int screen_magnitudes(compare_work *w, const churn_comparison *c)
{
    size_t n = c->n, nf = w->nf, bad = 0, first = 0, fj = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nf; j++)
            if (!(fabs(w->xrow[i * nf + j]) <= FIT_MAX)) {
                if (!w->fit_ok) {
                    if (!(w->fit_ok = churn__malloc(n)))
                        return churn__nomem("the feature screen");
                    memset(w->fit_ok, 1, n);
                    first = i, fj = j;
                }
                w->fit_ok[i] = 0;
                bad++;
                break;
            }
    if (!bad)
        return CHURN_OK;
    if (n - bad < 2 || n - bad < w->o.folds)
        return churn__error(CHURN_EINVAL, "%s: %zu of the %zu customers have a feature beyond "
                            "%g in magnitude (customer '%s': '%s' = %g): too few left to fit",
                            compare_fn, bad, n, FIT_MAX, churn_customers_id(c->table, first),
                            w->fnames[fj], w->xrow[first * nf + fj]);
    snprintf(w->leftout, sizeof w->leftout, "the fits leave out %zu customer(s) "
             "with a feature beyond %g in magnitude (the fit squares it; they are still "
             "scored); first: '%s' ('%s' = %g)", bad, FIT_MAX,
             churn_customers_id(c->table, first), w->fnames[fj], w->xrow[first * nf + fj]);
    return CHURN_OK;
}

static int compare_features(compare_work *w, const churn_comparison *c)
{
    const char *const fn = compare_fn;
    size_t n = c->n, nf = w->nf;
    int rc;
    if (!w->any_supervised)
        return CHURN_OK;
    if (w->o.folds > n)
        return churn__error(CHURN_EINVAL, "%s: option 'folds' %zu exceeds the %zu customers",
                            fn, w->o.folds, n);
    /* A feature that reads amounts is NaN for customers whose spend is unknown
     * (a log without amounts, customers.h): the default set then leaves out
     * monetary_value (named in the note that drop_unusable_defaults goes on with);
     * a feature asked for by name is an error. */
    for (size_t j = 0; j < nf; j++) {
        const double *col = churn_customers_column(c->table, w->fnames[j]);
        size_t i = 0;
        while (col && i < n && !isnan(col[i]))
            i++;
        if (!col || i == n)
            continue;
        if (w->default_features && strcmp(w->fnames[j], "monetary_value") == 0) {
            snprintf(w->dropped, sizeof w->dropped, "default feature(s) dropped: "
                     "'monetary_value' (the spend is unknown: a log without amounts)");
            memmove(w->fnames + j, w->fnames + j + 1, (nf - j - 1) * sizeof *w->fnames);
            nf = --w->nf;
            j--;
            continue;
        }
        return churn__error(CHURN_EINVAL, "%s: feature '%s' is NaN for customer '%s': the "
                            "spend is unknown (a log without amounts); leave the spend columns "
                            "out of option 'features'", fn, w->fnames[j],
                            churn_customers_id(c->table, i));
    }
    w->xrow = churn__malloc(churn__mul_size(n, churn__mul_size(nf, sizeof *w->xrow)));
    if (!w->xrow)
        return churn__nomem("the feature matrix");
    for (size_t j = 0; j < nf; j++) {
        const double *col = churn_customers_column(c->table, w->fnames[j]);
        if (!col)
            return churn__error(CHURN_ENOTFOUND, "%s: feature '%s' is not a column of the "
                                "customer table", fn, w->fnames[j]);
        for (size_t i = 0; i < n; i++)
            w->xrow[i * nf + j] = col[i];
    }
    if ((rc = screen_magnitudes(w, c)))
        return rc;
    if (w->default_features && (rc = drop_unusable_defaults(w, n)))
        return rc;
    nf = w->nf;
    w->d.fit_ok = w->fit_ok;
    w->d.n = n;
    w->d.p = nf;
    w->d.x = w->xrow;
    w->d.names = (const char *const *)w->fnames;
    w->d.label = w->label;
    w->d.horizon = c->holdout_length;
    return CHURN_OK;
}

/* Fit entry e's model, score the holdout, and fill its metrics. A model
 * that fails keeps the failure as its note (the comparison goes on); only
 * running out of memory ends the comparison. */
static int compare_one(const compare_work *w, const churn_comparison *c, cmp_entry *e)
{
    size_t n = c->n;
    int rc, st;
    if (is_btyd(e->family))
        st = score_btyd(e, n, w->freq, w->rec, w->age, w->hold, c->holdout_length,
                        w->o.time_unit, w->o.btyd_churn);
    else
        st = score_supervised(e, &w->d, w->o.folds, w->o.seed);
    if (st == CHURN_ENOMEM)
        return st;
    if (st && st != CHURN_ENOCONV) {
        churn__free(e->p_churn);
        e->p_churn = NULL;
        churn_model_free(e->model);
        e->model = NULL;
    }
    if (st && (rc = set_note(e, st, churn_strerror(st))))
        return rc;
    if (e->p_churn && (st = score_metrics(e, n, w->label, w->o.lift_bins))) {
        if (st == CHURN_ENOMEM)
            return st;
        if ((rc = set_note(e, st, churn_strerror(st))))
            return rc;
    }
    if (!is_btyd(e->family) && (w->dropped[0] || w->leftout[0]) && e->note && !e->note[0]) {
        char both[1040];
        snprintf(both, sizeof both, "%s%s%s", w->dropped, w->dropped[0] && w->leftout[0]
                 ? "; " : "", w->leftout);
        churn__free(e->note);
        if (!(e->note = churn__strdup(both)))
            return churn__nomem("a comparison note");
    }
    return CHURN_OK;
}

CHURN_API int churn_metrics_compare(churn_comparison **out, const churn_txlog *log,
                                    const churn_comparison_options *opts)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: 'out' is NULL", compare_fn);
    *out = NULL;
    compare_work w;
    memset(&w, 0, sizeof w);
    int rc = compare_settings(log, opts, &w.o);
    if (rc)
        return rc;
    w.default_features = !opts || !opts->features;
    w.mbuf = churn__strdup(w.o.models);
    w.fbuf = churn__strdup(w.o.features);
    churn_comparison *c = churn__calloc(1, sizeof *c);
    if (!w.mbuf || !w.fbuf || !c)
        rc = churn__nomem("the comparison");
    if (!rc)
        rc = compare_lists(&w, c);
    if (!rc)
        rc = compare_entries(&w, c);
    if (!rc)
        rc = compare_table(&w, c, log);
    if (!rc)
        rc = compare_features(&w, c);
    for (size_t i = 0; !rc && i < c->nmodels; i++)
        rc = compare_one(&w, c, &c->m[i]);
    compare_work_free(&w);
    if (rc) {
        churn_comparison_free(c);
        return rc;
    }
    churn__ok();
    *out = c;
    return CHURN_OK;
}

CHURN_API size_t churn_comparison_num_models(const churn_comparison *c)
{
    return c ? c->nmodels : 0;
}

CHURN_API const char *churn_comparison_model_name(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].name : NULL;
}

CHURN_API int churn_comparison_status(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].status : CHURN_ERANGE;
}

CHURN_API const char *churn_comparison_note(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].note : NULL;
}

CHURN_API int churn_comparison_value(const churn_comparison *c, size_t i, const char *metric,
                                     double *value)
{
    static const char fn[] = "churn_comparison_value";
    churn__ok();
    if (!c || !metric || !value)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (i >= c->nmodels)
        return churn__error(CHURN_ERANGE, "%s: model index %zu, only %zu models", fn, i,
                            c->nmodels);
    const cmp_entry *e = &c->m[i];
    const double *v = NULL;
    if (strcmp(metric, "auc") == 0)
        v = &e->auc;
    else if (strcmp(metric, "log_loss") == 0)
        v = &e->log_loss;
    else if (strcmp(metric, "brier") == 0)
        v = &e->brier;
    else if (strcmp(metric, "top_decile_lift") == 0)
        v = &e->top_lift;
    else if (strcmp(metric, "holdout_mae") == 0)
        v = &e->mae;
    else
        return churn__error(CHURN_ENOTFOUND, "%s: unknown metric '%s' (auc, log_loss, brier, "
                            "top_decile_lift, holdout_mae)", fn, metric);
    if (e->status && e->status != CHURN_ENOCONV)
        return churn__error(e->status, "%s: model '%s' failed: %s", fn, e->name, e->note);
    if (v == &e->mae && !is_btyd(e->family))
        return churn__error(CHURN_EUNSUPPORTED, "%s: 'holdout_mae' is only defined for BTYD "
                            "models, not '%s'", fn, e->name);
    if (!churn__finite(*v))
        return churn__error(CHURN_ENUMERIC, "%s: metric '%s' of model '%s' is not available",
                            fn, metric, e->name);
    *value = *v;
    return CHURN_OK;
}

CHURN_API const churn_model *churn_comparison_model(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].model : NULL;
}

CHURN_API const double *churn_comparison_scores(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].p_churn : NULL;
}

CHURN_API const churn_customers *churn_comparison_customers(const churn_comparison *c)
{
    return c ? c->table : NULL;
}

CHURN_API double churn_comparison_holdout_length(const churn_comparison *c)
{
    return c ? c->holdout_length : NAN;
}
