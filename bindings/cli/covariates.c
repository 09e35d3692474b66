/* Customer covariates for the BTYD models with covariates (include/churn/covariates.h):
 * a covariate CSV joined to customers by id (`churn features --covariates`, `churn score
 * --covariates`), and the column-major matrices the library takes, built from named columns
 * (`churn fit --trans/--life`, `churn predict`/`churn score` of a covariate model). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the join ---- */

/* A row of the covariate table with its id, so rows sort by id with a plain qsort
 * (no comparison context, no file-level state). */
typedef struct {
    const char *id;
    size_t row;
} id_row;

static int cmp_row(const void *a, const void *b)
{
    const id_row *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* The row of covariate table `t` whose id is `id` (order: rows sorted by id), or -1. */
static long find_row(const cli_table *t, const id_row *order, const char *id)
{
    size_t lo = 0, hi = t->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(order[mid].id, id);
        if (c == 0)
            return (long)order[mid].row;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int listed(char *const *names, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(names[k], name) == 0)
            return 1;
    return 0;
}

int cli_cov_join_read(const char *sub, const char *path, const char *idcol,
                      char *const *select, size_t nselect, size_t n,
                      const char *(*id_of)(const void *, size_t), const void *ud, int quiet,
                      cli_cov_join *c)
{
    memset(c, 0, sizeof *c);
    cli_table *t = &c->t;
    if (cli_table_read(sub, path, idcol, t))
        return CLI_EXIT_FAIL;
    if (t->id_col < 0)
        return cli_fail(sub, "--covariates %s: no customer id column (customer_id or id; "
                        "--covariates-id COL names another)", path);
    /* the columns: every one but the id (and the declarations cli_table_read took out), or
     * those selected; each must be numeric */
    for (size_t k = 0; k < nselect; k++) {
        size_t j = 0;
        while (j < t->ncols && ((int)j == t->id_col || strcmp(t->names[j], select[k]) != 0))
            j++;
        if (j == t->ncols)
            return cli_fail(sub, "--covariates %s: no column '%s' (named by --trans/--life)",
                            path, select[k]);
    }
    c->names = malloc((t->ncols ? t->ncols : 1) * sizeof *c->names);
    c->vals = malloc((t->ncols ? t->ncols : 1) * (n ? n : 1) * sizeof *c->vals);
    id_row *order = malloc((t->nrows ? t->nrows : 1) * sizeof *order);
    size_t *src = malloc((t->ncols ? t->ncols : 1) * sizeof *src);
    int rc = CLI_EXIT_FAIL;
    if (!c->names || !c->vals || !order || !src) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < t->ncols; j++) {
        if ((int)j == t->id_col || (nselect && !listed(select, nselect, t->names[j])))
            continue;
        if (t->text_error[j]) {
            cli_fail(sub, "--covariates %s", t->text_error[j]);
            goto done;
        }
        c->names[c->ncols] = t->names[j];
        src[c->ncols++] = j;
    }
    if (c->ncols == 0) {
        cli_fail(sub, "--covariates %s: no covariate column besides the id column '%s'", path,
                 t->names[t->id_col]);
        goto done;
    }
    for (size_t i = 0; i < t->nrows; i++)
        order[i] = (id_row){t->ids[i], i};
    qsort(order, t->nrows, sizeof *order, cmp_row);
    for (size_t i = 1; i < t->nrows; i++)
        if (strcmp(order[i - 1].id, order[i].id) == 0) {
            size_t a = order[i - 1].row, b = order[i].row; /* ties sort by row */
            cli_fail(sub, "--covariates %s: customer '%s' has two rows (lines %zu and %zu)",
                     path, t->ids[a], a + 2, b + 2);
            goto done;
        }
    char *used = calloc(t->nrows ? t->nrows : 1, 1);
    if (!used) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = id_of(ud, i);
        long r = find_row(t, order, id);
        if (r < 0) {
            free(used);
            cli_fail(sub, "--covariates %s: no row for customer '%s' (every customer of the "
                     "log needs its covariates)", path, id);
            goto done;
        }
        used[r] = 1;
        for (size_t k = 0; k < c->ncols; k++) {
            double v = t->cols[src[k]][r];
            if (!isfinite(v)) {
                free(used);
                cli_fail(sub, "--covariates %s, line %ld, column '%s': %s (customer '%s'; "
                         "covariates must be finite numbers)", path, r + 2, c->names[k],
                         isnan(v) ? "the value is missing" : "the value is not finite", id);
                goto done;
            }
            c->vals[k * n + i] = v;
        }
    }
    size_t unused = 0, first = 0;
    for (size_t r = t->nrows; r-- > 0;)
        if (!used[r])
            unused++, first = r;
    free(used);
    if (unused && !quiet)
        fprintf(stderr, "churn %s: note: %zu row(s) of %s name no customer of the log and "
                "were ignored (the first: customer '%s', line %zu)\n", sub, unused, path,
                t->ids[first], first + 2);
    c->n = n;
    rc = CLI_EXIT_OK;
done:
    free(order);
    free(src);
    if (rc)
        cli_cov_join_free(c);
    return rc;
}

void cli_cov_join_free(cli_cov_join *c)
{
    free(c->names);
    free(c->vals);
    cli_table_free(&c->t);
    c->names = NULL;
    c->vals = NULL;
    c->ncols = 0;
}

const double *cli_cov_join_col(const cli_cov_join *c, const char *name)
{
    for (size_t k = 0; k < c->ncols; k++)
        if (strcmp(c->names[k], name) == 0)
            return c->vals + k * c->n;
    return NULL;
}

/* ---- matrices from named columns ---- */

int cli_cov_model_names(const churn_model *m, cli_cov_names *nm)
{
    memset(nm, 0, sizeof *nm);
    size_t nt = 0, nl = 0;
    if (churn_btyd_model_covariates(m, &nt, &nl) != CHURN_OK || nt + nl == 0)
        return 0;
    size_t np = churn_model_num_params(m);
    if (np < 4 + nt + nl)
        return 0;
    nm->trans = malloc((nt + nl + 2) * sizeof *nm->trans);
    if (!nm->trans)
        return -1;
    nm->life = nm->trans + nt + 1;
    for (size_t k = 0; k < nt + nl; k++) {
        const char *p = churn_model_param_name(m, np - nt - nl + k);
        const char *dot = p ? strchr(p, '.') : NULL;
        const char *name = dot ? dot + 1 : (p ? p : "?");
        if (k < nt)
            nm->trans[k] = (char *)name;
        else
            nm->life[k - nt] = (char *)name;
    }
    nm->trans[nt] = NULL;
    nm->life[nl] = NULL;
    nm->nt = nt;
    nm->nl = nl;
    return (int)(nt + nl > 0);
}

void cli_cov_names_free(cli_cov_names *nm)
{
    free(nm->trans);
    memset(nm, 0, sizeof *nm);
}

int cli_cov_build(const char *sub, size_t n, char *const *trans, size_t nt, char *const *life,
                  size_t nl, const double *(*col)(const char *sub, const void *ud,
                                                  const char *name),
                  const void *ud, cli_cov_set *s)
{
    memset(s, 0, sizeof *s);
    churn_btyd_covariates_init(&s->cov);
    s->buf = malloc(((nt + nl) ? nt + nl : 1) * (n ? n : 1) * sizeof *s->buf);
    if (!s->buf)
        return cli_fail(sub, "out of memory");
    for (size_t k = 0; k < nt + nl; k++) {
        const char *name = k < nt ? trans[k] : life[k - nt];
        const double *v = col(sub, ud, name);
        if (!v) {
            cli_cov_set_free(s);
            return CLI_EXIT_FAIL;
        }
        memcpy(s->buf + k * n, v, n * sizeof *v);
    }
    s->n = n;
    s->cov.n_trans = nt;
    s->cov.trans = nt ? s->buf : NULL;
    s->cov.trans_names = (const char *const *)trans;
    s->cov.n_life = nl;
    s->cov.life = nl ? s->buf + nt * n : NULL;
    s->cov.life_names = (const char *const *)life;
    return CLI_EXIT_OK;
}

int cli_cov_row(const cli_cov_set *s, size_t i, double *row, churn_btyd_covariates *one)
{
    size_t nt = s->cov.n_trans, nl = s->cov.n_life;
    for (size_t k = 0; k < nt + nl; k++)
        row[k] = s->buf[k * s->n + i];
    *one = s->cov;
    one->trans = nt ? row : NULL;
    one->life = nl ? row + nt : NULL;
    return 0;
}

double *cli_cov_rows(const cli_cov_set *s, size_t lo, size_t cnt, churn_btyd_covariates *blk)
{
    size_t nt = s->cov.n_trans, nc = nt + s->cov.n_life;
    double *v = malloc((nc ? nc : 1) * (cnt ? cnt : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t k = 0; k < nc; k++)
        memcpy(v + k * cnt, s->buf + k * s->n + lo, cnt * sizeof *v);
    *blk = s->cov;
    blk->trans = nt ? v : NULL;
    blk->life = s->cov.n_life ? v + nt * cnt : NULL;
    return v;
}

void cli_cov_set_free(cli_cov_set *s)
{
    free(s->buf);
    free(s->names_block);
    s->buf = NULL;
    s->names_block = NULL;
}

int cli_cov_customer_model(const churn_model *m, const cli_cov_set *s, size_t i,
                           churn_model **out)
{
    /* customer i's own base parameters from the library, which owns the parametrisation
     * (churn_btyd_customer_params_covariates): its covariates as a one-row set */
    size_t nt = s->cov.n_trans, nl = s->cov.n_life, np = churn_model_num_params(m);
    *out = NULL;
    if (np < nt + nl || np - nt - nl > 5 || nt + nl > 64)
        return CHURN_EINVAL;
    size_t nb = np - nt - nl;
    double z[64], p[5];
    for (size_t k = 0; k < nt + nl; k++)
        z[k] = s->buf[k * s->n + i];
    churn_btyd_covariates one = s->cov;
    one.trans = nt ? z : NULL;
    one.life = nl ? z + nt : NULL;
    int st = churn_btyd_customer_params_covariates(m, 1, &one, p);
    if (!st)
        st = churn_btyd_model_new(out, churn_model_family(m), nb, p);
    if (!st && churn_model_time_unit(m) > 0)
        churn_model_set_time_unit(*out, churn_model_time_unit(m));
    return st;
}
