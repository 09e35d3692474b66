/*
 * The model handle shared by every family: accessors, and the JSON model file
 * (docs/model-format.md), written and read with jansson.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const family_names[] = {
    "",        "bgnbd", "mbgnbd", "pnbd",    "bgbb",        "sbg",         "gammagamma",
    "logit",   "cox",   "weibull", "exponential", "loglogistic", "lognormal", "ggomnbd",
    "mbgcnbd",
};
#define NFAMILY ((int)(sizeof family_names / sizeof family_names[0]))

CHURN_API const char *churn_family_name(int family)
{
    return (family > 0 && family < NFAMILY) ? family_names[family] : "";
}

CHURN_API int churn_family_from_name(const char *name, int *family)
{
    churn__ok();
    if (!name || !family)
        return churn__error(CHURN_EINVAL, "churn_family_from_name: NULL argument");
    for (int i = 1; i < NFAMILY; i++)
        if (strcmp(name, family_names[i]) == 0) {
            *family = i;
            return CHURN_OK;
        }
    return churn__error(CHURN_ENOTFOUND,
                        "unknown model family '%s' (expected one of bgnbd, mbgnbd, pnbd, bgbb, "
                        "sbg, gammagamma, logit, cox, weibull, exponential, loglogistic, lognormal, ggomnbd, "
                        "mbgcnbd)",
                        name);
}

/* ---- construction (internal) ---------------------------------------------- */

static void free_strings(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        churn__free(s[i]);
    churn__free(s);
}

CHURN_API void churn_model_free(churn_model *m)
{
    if (!m)
        return;
    free_strings(m->param_names, m->nparams);
    free_strings(m->feature_names, m->nfeatures);
    churn__free(m->params);
    churn__free(m->se);
    churn__free(m->cov);
    for (size_t i = 0; i < m->narrays; i++) {
        churn__free(m->arrays[i].name);
        churn__free(m->arrays[i].data);
    }
    churn__free(m->arrays);
    churn__free(m->note);
    churn__free(m);
}

static char **dup_strings(const char *const *src, size_t n)
{
    char **d = churn__calloc(n ? n : 1, sizeof *d);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        d[i] = churn__strdup(src[i] ? src[i] : "");
        if (!d[i]) {
            free_strings(d, i);
            return NULL;
        }
    }
    return d;
}

int churn__model_new(churn_model **out, int family, size_t nparams, const char *const *names)
{
    *out = NULL;
    churn_model *m = churn__calloc(1, sizeof *m);
    if (!m)
        return churn__nomem("a model");
    m->family = family;
    m->nparams = nparams;
    m->loglik = NAN;
    m->nobs = 0;
    m->params = churn__malloc(churn__mul_size(nparams ? nparams : 1, sizeof(double)));
    m->se = churn__malloc(churn__mul_size(nparams ? nparams : 1, sizeof(double)));
    m->param_names = dup_strings(names, nparams);
    if (!m->params || !m->se || !m->param_names) {
        if (!m->param_names)
            m->nparams = 0;
        churn_model_free(m);
        return churn__nomem("model parameters");
    }
    for (size_t i = 0; i < nparams; i++)
        m->params[i] = m->se[i] = NAN;
    *out = m;
    return CHURN_OK;
}

int churn__model_set_array(churn_model *m, const char *name, const double *data, size_t len)
{
    double *copy = churn__malloc(churn__mul_size(len ? len : 1, sizeof(double)));
    if (!copy)
        return churn__nomem(name);
    if (len)
        memcpy(copy, data, len * sizeof(double));
    for (size_t i = 0; i < m->narrays; i++)
        if (strcmp(m->arrays[i].name, name) == 0) {
            churn__free(m->arrays[i].data);
            m->arrays[i].data = copy;
            m->arrays[i].len = len;
            return CHURN_OK;
        }
    char *nm = churn__strdup(name);
    churn__array *a = churn__realloc(m->arrays, (m->narrays + 1) * sizeof *a);
    if (!nm || !a) {
        churn__free(nm);
        churn__free(copy);
        if (a)
            m->arrays = a;
        return churn__nomem(name);
    }
    m->arrays = a;
    a[m->narrays].name = nm;
    a[m->narrays].data = copy;
    a[m->narrays].len = len;
    m->narrays++;
    return CHURN_OK;
}

const double *churn__model_array(const churn_model *m, const char *name, size_t *len)
{
    for (size_t i = 0; i < m->narrays; i++)
        if (strcmp(m->arrays[i].name, name) == 0) {
            if (len)
                *len = m->arrays[i].len;
            return m->arrays[i].data;
        }
    if (len)
        *len = 0;
    return NULL;
}

int churn__model_set_features(churn_model *m, const char *const *names, size_t k)
{
    char **d = dup_strings(names, k);
    if (!d)
        return churn__nomem("feature names");
    free_strings(m->feature_names, m->nfeatures);
    m->feature_names = d;
    m->nfeatures = k;
    return CHURN_OK;
}

int churn__model_set_cov(churn_model *m, const double *cov)
{
    size_t k = m->nparams;
    double *c = churn__malloc(churn__mul_size(k ? k * k : 1, sizeof(double)));
    if (!c)
        return churn__nomem("covariance matrix");
    memcpy(c, cov, k * k * sizeof(double));
    churn__free(m->cov);
    m->cov = c;
    for (size_t i = 0; i < k; i++)
        m->se[i] = (isfinite(c[i * k + i]) && c[i * k + i] >= 0) ? sqrt(c[i * k + i]) : NAN;
    return CHURN_OK;
}

int churn__model_set_note(churn_model *m, const char *note)
{
    char *d = note ? churn__strdup(note) : NULL;
    if (note && !d)
        return churn__nomem("model note");
    churn__free(m->note);
    m->note = d;
    return CHURN_OK;
}

int churn__model_check(const churn_model *m, const char *fn, int n, ...)
{
    if (!m)
        return churn__error(CHURN_EINVAL, "%s: model is NULL", fn);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        if (va_arg(ap, int) == m->family) {
            va_end(ap);
            return CHURN_OK;
        }
    va_end(ap);
    return churn__error(CHURN_EFAMILY, "%s: not defined for a '%s' model", fn,
                        churn_family_name(m->family));
}

int churn__model_check_arg(const churn_model *m, const char *fn, const char *arg, int n, ...)
{
    if (!m)
        return churn__error(CHURN_EINVAL, "%s: argument '%s' is NULL", fn, arg);
    char want[160] = "";
    size_t len = 0;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        int fam = va_arg(ap, int);
        if (fam == m->family) {
            va_end(ap);
            return CHURN_OK;
        }
        if (len < sizeof want)
            len += (size_t)snprintf(want + len, sizeof want - len, "%s'%s'",
                                    i == 0 ? "" : (i + 1 == n ? " or " : ", "),
                                    churn_family_name(fam));
    }
    va_end(ap);
    return churn__error(CHURN_EFAMILY, "%s: argument '%s' is a '%s' model; it must be a %s model",
                        fn, arg, churn_family_name(m->family), want);
}

/* ---- accessors ------------------------------------------------------------ */

CHURN_API int churn_model_family(const churn_model *m) { return m ? m->family : 0; }
CHURN_API size_t churn_model_num_params(const churn_model *m) { return m ? m->nparams : 0; }

CHURN_API const char *churn_model_param_name(const churn_model *m, size_t i)
{
    return (m && i < m->nparams) ? m->param_names[i] : NULL;
}

static int copy_vec(const churn_model *m, const double *src, double *dst, size_t n,
                    const char *fn)
{
    churn__ok();
    if (!m || !dst)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (n < m->nparams)
        return churn__error(CHURN_ERANGE, "%s: buffer holds %zu values, the model has %zu", fn,
                            n, m->nparams);
    memcpy(dst, src, m->nparams * sizeof(double));
    return CHURN_OK;
}

CHURN_API int churn_model_params(const churn_model *m, double *values, size_t n)
{
    return copy_vec(m, m ? m->params : NULL, values, n, "churn_model_params");
}

CHURN_API int churn_model_std_errors(const churn_model *m, double *se, size_t n)
{
    return copy_vec(m, m ? m->se : NULL, se, n, "churn_model_std_errors");
}

CHURN_API int churn_model_covariance(const churn_model *m, double *cov, size_t n)
{
    churn__ok();
    if (!m || !cov)
        return churn__error(CHURN_EINVAL, "churn_model_covariance: NULL argument");
    if (!m->cov)
        return churn__error(CHURN_EUNSUPPORTED, "churn_model_covariance: this '%s' fit has no "
                            "covariance matrix", churn_family_name(m->family));
    if (n < m->nparams * m->nparams)
        return churn__error(CHURN_ERANGE, "churn_model_covariance: buffer holds %zu values, "
                            "need %zu", n, m->nparams * m->nparams);
    memcpy(cov, m->cov, m->nparams * m->nparams * sizeof(double));
    return CHURN_OK;
}

CHURN_API int churn_model_param(const churn_model *m, const char *name, double *value, double *se)
{
    churn__ok();
    if (!m || !name)
        return churn__error(CHURN_EINVAL, "churn_model_param: NULL argument");
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->param_names[i], name) == 0) {
            if (value)
                *value = m->params[i];
            if (se)
                *se = m->se[i];
            return CHURN_OK;
        }
    return churn__error(CHURN_ENOTFOUND, "churn_model_param: a '%s' model has no parameter '%s'",
                        churn_family_name(m->family), name);
}

CHURN_API double churn_model_loglik(const churn_model *m) { return m ? m->loglik : NAN; }
CHURN_API double churn_model_nobs(const churn_model *m) { return m ? m->nobs : 0; }
CHURN_API int churn_model_converged(const churn_model *m) { return m ? m->converged : 0; }
CHURN_API int churn_model_iterations(const churn_model *m) { return m ? m->iterations : 0; }
CHURN_API double churn_model_time_unit(const churn_model *m) { return m ? m->time_unit : 0; }

CHURN_API int churn_model_set_time_unit(churn_model *m, double unit)
{
    churn__ok();
    if (!m)
        return churn__error(CHURN_EINVAL, "churn_model_set_time_unit: model is NULL");
    if (!isfinite(unit) || unit < 0)
        return churn__error(CHURN_EINVAL, "churn_model_set_time_unit: unit_days %g must be a "
                            "finite number >= 0", unit);
    m->time_unit = unit;
    return CHURN_OK;
}

CHURN_API size_t churn_time_unit_describe(double unit_days, char *buf, size_t cap)
{
    static const struct { double days; const char *name; } named[] = {
        {1, "days (1 day)"},
        {7, "weeks (7 days)"},
        {30.4375, "months (30.4375 days)"},
        {91.3125, "quarters (91.3125 days)"},
        {365.25, "years (365.25 days)"},
    };
    if (!buf && cap)
        return 0;
    int len;
    if (!(unit_days > 0) || !isfinite(unit_days)) {
        len = snprintf(buf, cap, "%s", unit_days == 0 ? "an unknown unit" : "an invalid unit");
        return len < 0 ? 0 : (size_t)len;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (fabs(unit_days - named[i].days) <= 1e-9 * named[i].days) {
            len = snprintf(buf, cap, "%s", named[i].name);
            return len < 0 ? 0 : (size_t)len;
        }
    len = churn__snprintf_c(buf, cap, "units of %.10g days", unit_days);
    return len < 0 ? 0 : (size_t)len;
}

static int family_needs_unit(int family)
{
    switch (family) {
    case CHURN_FAMILY_GAMMAGAMMA:
    case CHURN_FAMILY_LOGIT:
        return 0;
    default:
        return 1;
    }
}

CHURN_API int churn_model_check_time_unit(const churn_model *m, double unit_days)
{
    churn__ok();
    if (!m)
        return churn__error(CHURN_EINVAL, "churn_model_check_time_unit: model is NULL");
    if (!isfinite(unit_days) || unit_days < 0)
        return churn__error(CHURN_EINVAL, "churn_model_check_time_unit: unit_days %g must be a "
                            "finite number >= 0 (0 = unknown)", unit_days);
    if (m->family == CHURN_FAMILY_GAMMAGAMMA)
        return CHURN_OK;
    double mu = m->time_unit;
    if (mu > 0 && unit_days > 0 && fabs(mu - unit_days) <= 1e-9 * fmax(mu, unit_days))
        return CHURN_OK;
    if (mu == 0 && !family_needs_unit(m->family))
        return CHURN_OK;
    char mbuf[64], dbuf[64];
    churn_time_unit_describe(mu, mbuf, sizeof mbuf);
    churn_time_unit_describe(unit_days, dbuf, sizeof dbuf);
    const char *fam = churn_family_name(m->family);
    if (mu == 0)
        return churn__error(CHURN_EUNIT, "the '%s' model's time unit is unknown (it was fitted "
                            "from data of no declared unit) and the data are in %s: declare the "
                            "model's unit (churn_model_set_time_unit, --unit) before scoring",
                            fam, dbuf);
    if (unit_days == 0)
        return churn__error(CHURN_EUNIT, "the '%s' model was fitted in %s but the data's time "
                            "unit is unknown: declare it (e.g. --unit) so that it can be checked",
                            fam, mbuf);
    return churn__error(CHURN_EUNIT, "the '%s' model was fitted in %s but the data are in %s: "
                        "rebuild the data in the model's unit, or convert the model on purpose "
                        "(churn_btyd_convert_time_unit)", fam, mbuf, dbuf);
}

CHURN_API size_t churn_model_num_features(const churn_model *m) { return m ? m->nfeatures : 0; }

CHURN_API const char *churn_model_feature_name(const churn_model *m, size_t i)
{
    return (m && i < m->nfeatures) ? m->feature_names[i] : NULL;
}

CHURN_API const char *churn_model_note(const churn_model *m)
{
    return (m && m->note) ? m->note : "";
}

/* ---- JSON model files ------------------------------------------------------ */

/* jansson cannot store NaN/inf: they are written as null and read back as NaN. */
static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *jarray(const double *x, size_t n)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, jnum(x[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *jstrings(char *const *s, size_t n)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, json_string(s[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* json_object_set_new steals the value even on failure; NULL values fail. */
static int jset(json_t *o, const char *k, json_t *v, int *bad)
{
    if (!v || json_object_set_new(o, k, v) != 0)
        *bad = 1;
    return *bad;
}

/* A BTYD model with covariate coefficients beyond its base parameters
 * (covariates.h): named "trans.<name>" or "life.<name>". */
static int is_covariate_name(const char *s)
{
    return strncmp(s, "trans.", 6) == 0 || strncmp(s, "life.", 5) == 0;
}

static int has_covariates(const churn_model *m)
{
    if (m->family == CHURN_FAMILY_GGOMNBD || m->family == CHURN_FAMILY_MBGCNBD)
        return m->nparams > 5;
    if (m->family != CHURN_FAMILY_PNBD && m->family != CHURN_FAMILY_BGNBD &&
        m->family != CHURN_FAMILY_MBGNBD)
        return 0;
    return m->nparams > 4;
}

static json_t *model_to_json(const churn_model *m)
{
    int bad = 0;
    json_t *root = json_object();
    if (!root)
        return NULL;
    jset(root, "format", json_string("libchurn-model"), &bad);
    /* format 2 only where a model needs it (BTYD covariates), so that libraries that
     * read format 1 keep reading every model they can score */
    jset(root, "format_version", json_integer(has_covariates(m) ? 2 : 1), &bad);
    jset(root, "library_version", json_string(CHURN_VERSION_STRING), &bad);
    jset(root, "family", json_string(churn_family_name(m->family)), &bad);
    jset(root, "time_unit_days", json_real(m->time_unit), &bad);
    jset(root, "param_names", jstrings(m->param_names, m->nparams), &bad);
    jset(root, "params", jarray(m->params, m->nparams), &bad);
    jset(root, "std_errors", jarray(m->se, m->nparams), &bad);
    jset(root, "covariance", m->cov ? jarray(m->cov, m->nparams * m->nparams) : json_null(), &bad);
    json_t *fit = json_object();
    jset(root, "fit", fit, &bad);
    if (fit) {
        jset(fit, "loglik", jnum(m->loglik), &bad);
        jset(fit, "nobs", jnum(m->nobs), &bad);
        jset(fit, "converged", json_boolean(m->converged), &bad);
        jset(fit, "iterations", json_integer(m->iterations), &bad);
    }
    jset(root, "features", jstrings(m->feature_names, m->nfeatures), &bad);
    json_t *arrays = json_object();
    jset(root, "arrays", arrays, &bad);
    for (size_t i = 0; arrays && !bad && i < m->narrays; i++)
        jset(arrays, m->arrays[i].name, jarray(m->arrays[i].data, m->arrays[i].len), &bad);
    jset(root, "note", json_string(m->note ? m->note : ""), &bad);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

#define JSON_FLAGS (JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER)

CHURN_API int churn_model_save_buffer(const churn_model *m, char *buf, size_t cap, size_t *needed)
{
    churn__ok();
    if (!m || (!buf && cap))
        return churn__error(CHURN_EINVAL, "churn_model_save_buffer: NULL argument");
    json_t *root = model_to_json(m);
    if (!root)
        return churn__nomem("the model's JSON document");
    size_t n = json_dumpb(root, NULL, 0, JSON_FLAGS);
    if (needed)
        *needed = n + 1;
    if (n == 0) {
        json_decref(root);
        return churn__nomem("the model's JSON text");
    }
    if (cap < n + 1) {
        json_decref(root);
        return churn__error(CHURN_ERANGE, "churn_model_save_buffer: buffer of %zu bytes, need %zu",
                            cap, n + 1);
    }
    json_dumpb(root, buf, n, JSON_FLAGS);
    buf[n] = '\0';
    json_decref(root);
    return CHURN_OK;
}

/* Write `text` and a newline to `path`. A regular file (or a new one) is written to a
 * temporary file in the same directory, flushed to disk and renamed over `path`, so a failure
 * never leaves a half-written model; the temporary is created with O_EXCL under a name no
 * other writer uses (process id and a counter), with the permissions open() gives a new
 * file. A device, pipe or socket (/dev/null, /dev/stdout) and a symbolic link are written
 * directly: renaming over them would replace the device node or the link itself. */
static int write_model_text(const char *path, const char *text)
{
    static atomic_uint counter;
    size_t len = strlen(text);
    struct stat sb;
    int direct = (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode));
    size_t plen = strlen(path);
    char *tmp = NULL;
    int fd = -1;
    if (direct) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    } else {
        tmp = churn__malloc(plen + 40);
        if (!tmp)
            return churn__nomem("a file name");
        for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
            snprintf(tmp, plen + 40, "%s.tmp%ld.%u", path, (long)getpid(),
                     atomic_fetch_add(&counter, 1u));
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST)
                break;
        }
    }
    if (fd < 0) {
        int e = errno;
        churn__free(tmp);
        return churn__error(CHURN_EIO, "cannot write model file '%s': %s", path, strerror(e));
    }
    int ok = 1, e = 0;
    for (size_t off = 0; ok && off <= len;) {
        const char *p = off < len ? text + off : "\n";
        size_t n = off < len ? len - off : 1;
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ok = 0;
            e = w < 0 ? errno : EIO;
        } else {
            off += (size_t)w;
            if (off == len + 1)
                break;
        }
    }
    if (ok && !direct && fsync(fd) != 0) {
        ok = 0;
        e = errno;
    }
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && !direct && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok && !direct)
        unlink(tmp);
    churn__free(tmp);
    if (!ok)
        return churn__error(CHURN_EIO, "cannot write model file '%s': %s", path, strerror(e));
    return CHURN_OK;
}

CHURN_API int churn_model_save(const churn_model *m, const char *path)
{
    churn__ok();
    if (!m || !path)
        return churn__error(CHURN_EINVAL, "churn_model_save: NULL argument");
    size_t need = 0;
    int rc = churn_model_save_buffer(m, NULL, 0, &need);
    if (rc != CHURN_ERANGE && rc != CHURN_OK)
        return rc;
    char *text = churn__malloc(need);
    if (!text)
        return churn__nomem("the model's JSON text");
    rc = churn_model_save_buffer(m, text, need, NULL);
    if (rc) {
        churn__free(text);
        return rc;
    }
    rc = write_model_text(path, text);
    churn__free(text);
    return rc;
}

/* Read a numeric array field, NaN for null. Fails on any other type. */
static int read_numbers(json_t *root, const char *key, size_t n, double *dst)
{
    json_t *a = json_object_get(root, key);
    if (!json_is_array(a) || json_array_size(a) != n)
        return churn__error(CHURN_EFORMAT, "model file: field '%s' must be an array of %zu numbers",
                            key, n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (json_is_null(v))
            dst[i] = NAN;
        else if (json_is_number(v))
            dst[i] = json_number_value(v);
        else
            return churn__error(CHURN_EFORMAT, "model file: '%s'[%zu] is not a number", key, i);
    }
    return CHURN_OK;
}

static int read_strings(json_t *a, const char *key, size_t *n, char ***out)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(a))
        return churn__error(CHURN_EFORMAT, "model file: field '%s' must be an array of strings",
                            key);
    size_t k = json_array_size(a);
    const char **tmp = churn__calloc(k ? k : 1, sizeof *tmp);
    if (!tmp)
        return churn__nomem(key);
    for (size_t i = 0; i < k; i++) {
        tmp[i] = json_string_value(json_array_get(a, i));
        if (!tmp[i]) {
            churn__free(tmp);
            return churn__error(CHURN_EFORMAT, "model file: '%s'[%zu] is not a string", key, i);
        }
    }
    *out = dup_strings(tmp, k);
    churn__free(tmp);
    if (!*out)
        return churn__nomem(key);
    *n = k;
    return CHURN_OK;
}

/* ---- what each family's file must hold (checked by the loader) ----------------- */

/* The families whose parameters are named scalars, in the order of
 * churn_model_param_name() (btyd.h, spend.h): the loader checks the count,
 * the names and that every value is > 0, so that a file relabelled with
 * another family's name fails when it is loaded, not when it is scored. */
static const struct family_params {
    int family;
    size_t n;
    const char *names[5];
} named_families[] = {
    {CHURN_FAMILY_BGNBD, 4, {"r", "alpha", "a", "b"}},
    {CHURN_FAMILY_MBGNBD, 4, {"r", "alpha", "a", "b"}},
    {CHURN_FAMILY_PNBD, 4, {"r", "alpha", "s", "beta"}},
    {CHURN_FAMILY_BGBB, 4, {"alpha", "beta", "gamma", "delta"}},
    {CHURN_FAMILY_SBG, 2, {"alpha", "beta"}},
    {CHURN_FAMILY_GAMMAGAMMA, 3, {"p", "q", "gamma"}},
    {CHURN_FAMILY_GGOMNBD, 5, {"r", "alpha", "b", "s", "beta"}},
    {CHURN_FAMILY_MBGCNBD, 5, {"k", "r", "alpha", "a", "b"}},
};

/* "'a', 'b'" into buf: the names a file gives, for messages. */
static const char *list_names(char *const *names, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s'%s'", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (len >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
    return n ? buf : "none";
}

/* An array the file may hold: when present it must have `want` values. */
static int check_array_len(const churn_model *m, const char *name, size_t want, int required)
{
    size_t len = 0;
    const double *a = churn__model_array(m, name, &len);
    if (!a) {
        if (required)
            return churn__error(CHURN_EFORMAT, "model file: a '%s' model needs the array "
                                "arrays.%s", churn_family_name(m->family), name);
        return CHURN_OK;
    }
    if (len != want)
        return churn__error(CHURN_EFORMAT, "model file: arrays.%s has %zu values; this '%s' "
                            "model needs %zu", name, len, churn_family_name(m->family), want);
    return CHURN_OK;
}

/* The parameters, features and arrays agree with the family (docs/model-format.md,
 * "What the loader checks"). */
static int check_family_layout(const churn_model *m, long long format_version)
{
    const char *fam = churn_family_name(m->family);
    size_t np = m->nparams, p = m->nfeatures;
    char got[256];
    for (size_t f = 0; f < sizeof named_families / sizeof named_families[0]; f++) {
        const struct family_params *fp = &named_families[f];
        if (fp->family != m->family)
            continue;
        /* BTYD covariate models (format 2): the base parameters, then coefficients
         * named trans.<name> / life.<name>, any finite value */
        size_t extra = 0;
        if (np > fp->n && (fp->family == CHURN_FAMILY_PNBD || fp->family == CHURN_FAMILY_BGNBD ||
                           fp->family == CHURN_FAMILY_MBGNBD ||
                           fp->family == CHURN_FAMILY_GGOMNBD ||
                           fp->family == CHURN_FAMILY_MBGCNBD)) {
            for (size_t i = fp->n; i < np; i++) {
                if (!is_covariate_name(m->param_names[i]))
                    return churn__error(CHURN_EFORMAT, "model file: param_names[%zu] is '%s'; "
                                        "a '%s' model's parameters after the first %zu are "
                                        "covariate coefficients named 'trans.<name>' or "
                                        "'life.<name>'", i, m->param_names[i], fam, fp->n);
                if (!isfinite(m->params[i]))
                    return churn__error(CHURN_EFORMAT, "model file: coefficient '%s' "
                                        "(params[%zu]) is not finite", m->param_names[i], i);
            }
            if (format_version < 2)
                return churn__error(CHURN_EFORMAT, "model file: a '%s' model with covariate "
                                    "coefficients must have format_version 2", fam);
            extra = np - fp->n;
        }
        if (np != fp->n + extra) {
            char want[128] = "";
            for (size_t i = 0, len = 0; i < fp->n; i++)
                len += (size_t)snprintf(want + len, sizeof want - len, "%s%s", i ? ", " : "",
                                        fp->names[i]);
            return churn__error(CHURN_EFORMAT, "model file: family '%s' has %zu parameters (%s); "
                                "fields 'param_names' and 'params' have %zu (%s): not a '%s' "
                                "model", fam, fp->n, want, np,
                                list_names(m->param_names, np, got, sizeof got), fam);
        }
        for (size_t i = 0; i < fp->n; i++) {
            if (strcmp(m->param_names[i], fp->names[i]) != 0)
                return churn__error(CHURN_EFORMAT, "model file: param_names[%zu] is '%s'; "
                                    "parameter %zu of family '%s' is '%s'", i,
                                    m->param_names[i], i + 1, fam, fp->names[i]);
            if (!(m->params[i] > 0))
                return churn__error(CHURN_EFORMAT, "model file: parameter '%s' (params[%zu]) "
                                    "is %g; a '%s' parameter must be > 0", m->param_names[i],
                                    i, m->params[i], fam);
        }
        return CHURN_OK;
    }
    int rc = CHURN_OK;
    switch (m->family) {
    case CHURN_FAMILY_LOGIT:
        /* intercept (0 when fitted without one) + one coefficient per feature */
        if (np != p + 1 || strcmp(m->param_names[0], "(Intercept)") != 0)
            return churn__error(CHURN_EFORMAT, "model file: a 'logit' model has '(Intercept)' "
                                "and one coefficient per feature: %zu parameters for the %zu "
                                "features of field 'features'; fields 'param_names' and "
                                "'params' have %zu (%s)", p + 1, p, np,
                                list_names(m->param_names, np, got, sizeof got));
        if (!(rc = check_array_len(m, "feature_mean", p, 0)))
            rc = check_array_len(m, "feature_sd", p, 0);
        return rc;
    case CHURN_FAMILY_COX: {
        /* one coefficient per feature, no intercept; the baseline hazard */
        if (np != p)
            return churn__error(CHURN_EFORMAT, "model file: a 'cox' model has one coefficient "
                                "per feature: %zu parameters for the %zu features of field "
                                "'features'; fields 'param_names' and 'params' have %zu (%s)",
                                p, p, np, list_names(m->param_names, np, got, sizeof got));
        size_t nt = 0;
        if (!churn__model_array(m, "baseline_time", &nt))
            return check_array_len(m, "baseline_time", 0, 1);
        if (!(rc = check_array_len(m, "baseline_cumhaz", nt, 1)) &&
            !(rc = check_array_len(m, "x_mean", p, 1)) &&
            !(rc = check_array_len(m, "baseline_varhaz", nt, 0)))
            rc = check_array_len(m, "baseline_xbar", nt * p, 0);
        return rc;
    }
    case CHURN_FAMILY_WEIBULL:
    case CHURN_FAMILY_EXPONENTIAL:
    case CHURN_FAMILY_LOGLOGISTIC:
    case CHURN_FAMILY_LOGNORMAL: {
        /* (Intercept), one coefficient per feature, Log(scale) (not for exponential) */
        int scale = m->family != CHURN_FAMILY_EXPONENTIAL;
        size_t want = p + 1 + (size_t)scale;
        if (np != want || strcmp(m->param_names[0], "(Intercept)") != 0 ||
            (scale && strcmp(m->param_names[np - 1], "Log(scale)") != 0))
            return churn__error(CHURN_EFORMAT, "model file: a '%s' model has '(Intercept)', one "
                                "coefficient per feature%s: %zu parameters for the %zu features "
                                "of field 'features'; fields 'param_names' and 'params' have "
                                "%zu (%s)", fam, scale ? " and 'Log(scale)'" : "", want, p, np,
                                list_names(m->param_names, np, got, sizeof got));
        return CHURN_OK;
    }
    default:
        return CHURN_OK;
    }
}

static int model_from_json(churn_model **out, json_t *root)
{
    if (!json_is_object(root))
        return churn__error(CHURN_EFORMAT, "model file: top level is not a JSON object");
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, "libchurn-model") != 0)
        return churn__error(CHURN_EFORMAT, "model file: field 'format' must be \"libchurn-model\"");
    json_t *ver = json_object_get(root, "format_version");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1)
        return churn__error(CHURN_EFORMAT, "model file: field 'format_version' must be an "
                            "integer >= 1");
    if (json_integer_value(ver) > CHURN_MODEL_FORMAT_VERSION)
        return churn__error(CHURN_EVERSION, "model file: format version %lld is newer than this "
                            "library reads (%d); upgrade libchurn",
                            (long long)json_integer_value(ver), CHURN_MODEL_FORMAT_VERSION);
    const char *fam = json_string_value(json_object_get(root, "family"));
    int family = 0;
    if (!fam)
        return churn__error(CHURN_EFORMAT, "model file: field 'family' is missing");
    if (churn_family_from_name(fam, &family) != CHURN_OK)
        return churn__error(CHURN_EFORMAT, "model file: unknown family '%s'", fam);

    char **names = NULL;
    size_t np = 0;
    int rc = read_strings(json_object_get(root, "param_names"), "param_names", &np, &names);
    if (rc)
        return rc;
    churn_model *m = NULL;
    rc = churn__model_new(&m, family, np, (const char *const *)names);
    free_strings(names, np);
    if (rc)
        return rc;
    rc = read_numbers(root, "params", np, m->params);
    if (!rc)
        rc = read_numbers(root, "std_errors", np, m->se);
    for (size_t i = 0; !rc && i < np; i++)
        if (!isfinite(m->params[i]))
            rc = churn__error(CHURN_EFORMAT, "model file: parameter '%s' is not a finite number",
                              m->param_names[i]);
    json_t *cov = json_object_get(root, "covariance");
    if (!rc && cov && !json_is_null(cov)) {
        m->cov = churn__malloc(churn__mul_size(np ? np * np : 1, sizeof(double)));
        rc = m->cov ? read_numbers(root, "covariance", np * np, m->cov)
                    : churn__nomem("covariance matrix");
    }
    json_t *tu = json_object_get(root, "time_unit_days");
    if (!rc && tu) {
        if (!json_is_number(tu) || !isfinite(json_number_value(tu)) || json_number_value(tu) < 0)
            rc = churn__error(CHURN_EFORMAT, "model file: 'time_unit_days' must be a number >= 0");
        else
            m->time_unit = json_number_value(tu);
    }
    json_t *fit = json_object_get(root, "fit");
    if (!rc && fit) {
        if (!json_is_object(fit)) {
            rc = churn__error(CHURN_EFORMAT, "model file: 'fit' must be an object");
        } else {
            json_t *v;
            if ((v = json_object_get(fit, "loglik")) && json_is_number(v))
                m->loglik = json_number_value(v);
            if ((v = json_object_get(fit, "nobs")) && json_is_number(v))
                m->nobs = json_number_value(v);
            if ((v = json_object_get(fit, "converged")))
                m->converged = json_is_true(v);
            if ((v = json_object_get(fit, "iterations")) && json_is_integer(v))
                m->iterations = (int)json_integer_value(v);
        }
    }
    json_t *feat = json_object_get(root, "features");
    if (!rc && feat)
        rc = read_strings(feat, "features", &m->nfeatures, &m->feature_names);
    json_t *arrays = json_object_get(root, "arrays");
    if (!rc && arrays) {
        if (!json_is_object(arrays)) {
            rc = churn__error(CHURN_EFORMAT, "model file: 'arrays' must be an object");
        } else {
            const char *key;
            json_t *val;
            json_object_foreach(arrays, key, val)
            {
                if (!json_is_array(val)) {
                    rc = churn__error(CHURN_EFORMAT, "model file: arrays.%s is not an array", key);
                    break;
                }
                size_t n = json_array_size(val);
                double *tmp = churn__malloc(churn__mul_size(n ? n : 1, sizeof(double)));
                if (!tmp) {
                    rc = churn__nomem(key);
                    break;
                }
                rc = read_numbers(arrays, key, n, tmp);
                if (!rc)
                    rc = churn__model_set_array(m, key, tmp, n);
                churn__free(tmp);
                if (rc)
                    break;
            }
        }
    }
    json_t *note = json_object_get(root, "note");
    if (!rc && json_is_string(note) && json_string_length(note) > 0)
        rc = churn__model_set_note(m, json_string_value(note));
    if (!rc)
        rc = check_family_layout(m, json_integer_value(ver));
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    return CHURN_OK;
}

CHURN_API int churn_model_load_buffer(churn_model **out, const char *buf, size_t len)
{
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || (!buf && len))
        return churn__error(CHURN_EINVAL, "churn_model_load_buffer: NULL argument");
    if (len && buf[len - 1] == '\0')
        len--; /* the size churn_model_save_buffer reports counts the terminating NUL */
    json_error_t err;
    json_t *root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return churn__error(CHURN_EFORMAT, "model file: JSON error at line %d, column %d: %s",
                            err.line, err.column, err.text);
    int rc = model_from_json(out, root);
    json_decref(root);
    return rc;
}

CHURN_API int churn_model_load(churn_model **out, const char *path)
{
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || !path)
        return churn__error(CHURN_EINVAL, "churn_model_load: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f)
        return churn__error(CHURN_EIO, "cannot open model file '%s': %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = churn__malloc(cap);
    int rc = CHURN_OK;
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (cap > ((size_t)1 << 30)) {
            rc = churn__error(CHURN_EFORMAT, "model file '%s' is larger than 1 GiB", path);
            break;
        }
        char *nb = churn__realloc(buf, cap * 2);
        if (!nb) {
            churn__free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int read_err = ferror(f);
    fclose(f);
    if (!buf)
        return churn__nomem("the model file's text");
    if (!rc && read_err)
        rc = churn__error(CHURN_EIO, "cannot read model file '%s'", path);
    if (!rc) {
        rc = churn_model_load_buffer(out, buf, len);
        if (rc && rc != CHURN_ENOMEM) {
            /* prefix the path to the message */
            char msg[400];
            snprintf(msg, sizeof msg, "%s", churn_last_error_message());
            churn__error(rc, "%s: %s", path, msg);
        }
    }
    churn__free(buf);
    return rc;
}
