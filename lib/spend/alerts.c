/*
 * Alert rules (spend.h): a set of named threshold tests on customer columns,
 * built from calls or from text such as "overdue: overdue_ratio > 2", and
 * evaluated to one bit per rule and customer.
 *
 * The per-order evaluation (churn_alerts_evaluate_state) reads a customer's
 * incremental state through the public data/ functions
 * (churn_customer_state_values, churn_customer_state_column_index).
 *
 * Calls core/ and data/ (public functions).
 */
#include "core/internal.h"

#include <stdlib.h>

typedef struct alert_rule {
    char *name;
    char *field;
    int op;
    double threshold;
    int state_col; /* churn_customer_state_column_index(field): >= 0 a state column,
                      -1 a table column the state lacks, -2 no table column */
} alert_rule;

struct churn_alerts {
    size_t n;
    alert_rule rules[CHURN_ALERTS_MAX];
};

CHURN_API int churn_alerts_new(churn_alerts **out)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_alerts_new: 'out' is NULL");
    *out = churn__calloc(1, sizeof **out);
    if (!*out)
        return churn__nomem("an alert rule set");
    return CHURN_OK;
}

CHURN_API void churn_alerts_free(churn_alerts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        churn__free(a->rules[i].name);
        churn__free(a->rules[i].field);
    }
    churn__free(a);
}

static const char *op_text(int op)
{
    switch (op) {
    case CHURN_ALERT_LT: return "<";
    case CHURN_ALERT_LE: return "<=";
    case CHURN_ALERT_GT: return ">";
    case CHURN_ALERT_GE: return ">=";
    case CHURN_ALERT_EQ: return "==";
    case CHURN_ALERT_NE: return "!=";
    default: return NULL;
    }
}

CHURN_API int churn_alerts_add(churn_alerts *a, const char *name, const char *field, int op,
                               double threshold)
{
    churn__ok();
    static const char fn[] = "churn_alerts_add";
    if (!a)
        return churn__error(CHURN_EINVAL, "%s: rule set is NULL", fn);
    if (!name || !*name || strchr(name, ';'))
        return churn__error(CHURN_EINVAL, "%s: rule name must be non-empty text without ';'",
                            fn);
    if (!field || !*field)
        return churn__error(CHURN_EINVAL, "%s: rule '%s': field name is empty", fn, name);
    if (!op_text(op))
        return churn__error(CHURN_EINVAL, "%s: rule '%s': operator %d is not a churn_alert_op",
                            fn, name, op);
    if (!isfinite(threshold))
        return churn__error(CHURN_EINVAL, "%s: rule '%s': threshold is not finite", fn, name);
    if (a->n >= CHURN_ALERTS_MAX)
        return churn__error(CHURN_ERANGE, "%s: rule '%s': a set holds at most %d rules", fn, name,
                            CHURN_ALERTS_MAX);
    char *nm = churn__strdup(name), *fd = churn__strdup(field);
    if (!nm || !fd) {
        churn__free(nm);
        churn__free(fd);
        return churn__nomem("an alert rule");
    }
    alert_rule *r = &a->rules[a->n++];
    r->name = nm;
    r->field = fd;
    r->op = op;
    r->threshold = threshold;
    r->state_col = churn_customer_state_column_index(fd);
    return CHURN_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

CHURN_API int churn_alerts_add_text(churn_alerts *a, const char *rule)
{
    churn__ok();
    static const char fn[] = "churn_alerts_add_text";
    if (!a || !rule)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    char name[128], field[128], autoname[256];
    const char *p = rule, *colon = strchr(rule, ':');
    size_t nn = 0;
    if (colon) {
        const char *s = rule, *e = colon;
        while (s < e && is_blank(*s))
            s++;
        while (e > s && is_blank(e[-1]))
            e--;
        nn = (size_t)(e - s);
        if (nn == 0 || nn >= sizeof name)
            return churn__error(CHURN_EFORMAT, "%s: rule '%s': empty or over-long name before ':'",
                                fn, rule);
        memcpy(name, s, nn);
        name[nn] = '\0';
        p = colon + 1;
    }
    while (is_blank(*p))
        p++;
    size_t nf = 0;
    while (p[nf] && !is_blank(p[nf]) && !strchr("<>=!", p[nf]))
        nf++;
    if (nf == 0 || nf >= sizeof field)
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': expected 'field op threshold'", fn,
                            rule);
    memcpy(field, p, nf);
    field[nf] = '\0';
    p += nf;
    while (is_blank(*p))
        p++;
    int op = 0;
    if (p[0] == '<' && p[1] == '=')
        op = CHURN_ALERT_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=')
        op = CHURN_ALERT_GE, p += 2;
    else if (p[0] == '=' && p[1] == '=')
        op = CHURN_ALERT_EQ, p += 2;
    else if (p[0] == '!' && p[1] == '=')
        op = CHURN_ALERT_NE, p += 2;
    else if (p[0] == '<')
        op = CHURN_ALERT_LT, p += 1;
    else if (p[0] == '>')
        op = CHURN_ALERT_GT, p += 1;
    else
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': expected one of < <= > >= == != after "
                            "'%s'", fn, rule, field);
    char *end;
    double th = churn__strtod_c(p, &end); /* '.' decimal point in every locale */
    if (end == p)
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': expected a number after the operator",
                            fn, rule);
    while (is_blank(*end))
        end++;
    if (*end)
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': unexpected text '%s' after the "
                            "threshold", fn, rule, end);
    if (!isfinite(th))
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': threshold is not finite", fn, rule);
    if (!colon) {
        size_t k = 0;
        for (const char *s = rule; *s && k + 1 < sizeof autoname; s++)
            if (!is_blank(*s))
                autoname[k++] = *s;
        autoname[k] = '\0';
    }
    return churn_alerts_add(a, colon ? name : autoname, field, op, th);
}

CHURN_API int churn_alerts_add_defaults(churn_alerts *a)
{
    churn__ok();
    int rc = churn_alerts_add(a, "p_alive_low", "p_alive", CHURN_ALERT_LT, 0.3);
    if (!rc)
        rc = churn_alerts_add(a, "overdue", "overdue_ratio", CHURN_ALERT_GT, 2.0);
    if (!rc)
        rc = churn_alerts_add(a, "spend_down", "spend_trend", CHURN_ALERT_LT, -1.0 / 3.0);
    return rc;
}

CHURN_API size_t churn_alerts_num_rules(const churn_alerts *a) { return a ? a->n : 0; }

CHURN_API int churn_alerts_rule(const churn_alerts *a, size_t i, const char **name,
                                const char **field, int *op, double *threshold)
{
    churn__ok();
    if (!a)
        return churn__error(CHURN_EINVAL, "churn_alerts_rule: rule set is NULL");
    if (i >= a->n)
        return churn__error(CHURN_ERANGE, "churn_alerts_rule: rule %zu of %zu", i, a->n);
    if (name)
        *name = a->rules[i].name;
    if (field)
        *field = a->rules[i].field;
    if (op)
        *op = a->rules[i].op;
    if (threshold)
        *threshold = a->rules[i].threshold;
    return CHURN_OK;
}

CHURN_API int churn_alerts_evaluate(const churn_alerts *a, size_t n, size_t ncols,
                                    const char *const *names, const double *const *columns,
                                    uint64_t *fired)
{
    churn__ok();
    static const char fn[] = "churn_alerts_evaluate";
    if (!a)
        return churn__error(CHURN_EINVAL, "%s: rule set is NULL", fn);
    if ((ncols && (!names || !columns)) || (n && !fired))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    const double *col[CHURN_ALERTS_MAX];
    for (size_t r = 0; r < a->n; r++) {
        col[r] = NULL;
        for (size_t j = 0; j < ncols; j++)
            if (names[j] && strcmp(names[j], a->rules[r].field) == 0) {
                col[r] = columns[j];
                break;
            }
        if (!col[r] && n)
            return churn__error(CHURN_ENOTFOUND, "%s: rule '%s' tests field '%s', which is not "
                                "among the %zu columns given", fn, a->rules[r].name,
                                a->rules[r].field, ncols);
    }
    for (size_t i = 0; i < n; i++)
        fired[i] = 0;
    /* One pass per rule over a contiguous column: a branch-free comparison
     * the compiler can vectorise. NaN compares false under every operator
     * (for != explicitly). */
    for (size_t r = 0; r < a->n; r++) {
        const double *v = col[r], t = a->rules[r].threshold;
        const uint64_t bit = (uint64_t)1 << r;
        switch (a->rules[r].op) {
        case CHURN_ALERT_LT:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] < t) ? bit : 0;
            break;
        case CHURN_ALERT_LE:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] <= t) ? bit : 0;
            break;
        case CHURN_ALERT_GT:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] > t) ? bit : 0;
            break;
        case CHURN_ALERT_GE:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] >= t) ? bit : 0;
            break;
        case CHURN_ALERT_EQ:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] == t) ? bit : 0;
            break;
        default:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] == v[i] && v[i] != t) ? bit : 0;
            break;
        }
    }
    return CHURN_OK;
}

static int rule_fires(const alert_rule *r, double v)
{
    double t = r->threshold;
    switch (r->op) {
    case CHURN_ALERT_LT: return v < t;
    case CHURN_ALERT_LE: return v <= t;
    case CHURN_ALERT_GT: return v > t;
    case CHURN_ALERT_GE: return v >= t;
    case CHURN_ALERT_EQ: return v == t;
    default: return v == v && v != t;
    }
}

CHURN_API int churn_alerts_evaluate_state(const churn_alerts *a, const churn_customer_state *st,
                                          double cutoff, size_t nscores,
                                          const char *const *names, const double *scores,
                                          uint64_t *fired, uint64_t *skipped)
{
    churn__ok();
    static const char fn[] = "churn_alerts_evaluate_state";
    if (!a || !st || !fired || !skipped || (nscores && (!names || !scores)))
        return churn__error(CHURN_EINVAL, "%s: '%s' is NULL", fn,
                            !a ? "alerts" : !st ? "state" : !fired ? "fired" : !skipped
                                ? "skipped" : !names ? "names" : "scores");
    double v[32];
    int have_state = 0;
    uint64_t f = 0, sk = 0;
    for (size_t r = 0; r < a->n; r++) {
        const alert_rule *rule = &a->rules[r];
        const uint64_t bit = (uint64_t)1 << r;
        size_t j = 0;
        while (j < nscores && !(names[j] && strcmp(names[j], rule->field) == 0))
            j++;
        double x;
        if (j < nscores) {
            x = scores[j];
        } else if (rule->state_col >= 0) {
            if (!have_state) {
                size_t nc = churn_customer_state_num_columns();
                int rc = churn_customer_state_values(st, cutoff, v, nc < 32 ? nc : 32);
                if (rc)
                    return rc;
                have_state = 1;
            }
            x = v[rule->state_col];
        } else if (rule->state_col == -1) {
            sk |= bit;
            continue;
        } else {
            return churn__error(CHURN_ENOTFOUND, "%s: rule '%s' tests field '%s', which is "
                                "neither among the %zu scores given nor a customer column",
                                fn, rule->name, rule->field, nscores);
        }
        if (rule_fires(rule, x))
            f |= bit;
    }
    *fired = f;
    *skipped = sk;
    return CHURN_OK;
}

CHURN_API int churn_alerts_needs_history(const churn_alerts *a, uint64_t *mask)
{
    churn__ok();
    if (!a || !mask)
        return churn__error(CHURN_EINVAL, "churn_alerts_needs_history: '%s' is NULL",
                            !a ? "alerts" : "mask");
    uint64_t m = 0;
    for (size_t r = 0; r < a->n; r++)
        if (a->rules[r].state_col == -1)
            m |= (uint64_t)1 << r;
    *mask = m;
    return CHURN_OK;
}

CHURN_API int churn_alerts_describe(const churn_alerts *a, uint64_t fired, char *buf, size_t cap,
                                    size_t *needed)
{
    churn__ok();
    static const char fn[] = "churn_alerts_describe";
    if (!a || (!buf && cap))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    size_t len = 0;
    for (size_t r = 0; r < a->n; r++)
        if (fired & ((uint64_t)1 << r))
            len += strlen(a->rules[r].name) + (len ? 1 : 0);
    if (needed)
        *needed = len + 1;
    if (cap < len + 1)
        return churn__error(CHURN_ERANGE, "%s: buffer of %zu bytes, need %zu", fn, cap, len + 1);
    size_t k = 0;
    for (size_t r = 0; r < a->n; r++)
        if (fired & ((uint64_t)1 << r)) {
            if (k)
                buf[k++] = ';';
            size_t l = strlen(a->rules[r].name);
            memcpy(buf + k, a->rules[r].name, l);
            k += l;
        }
    buf[k] = '\0';
    return CHURN_OK;
}
